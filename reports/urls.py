"""Internal pages of report builds and snapshots (under i18n_patterns)."""

from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("reports/runs/", views.run_list, name="run_list"),
    path("reports/runs/new/", views.run_start, name="run_start"),
    path("reports/runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("reports/runs/<int:pk>/retry/", views.run_retry, name="run_retry"),
    path("reports/snapshots/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/snapshots/<int:pk>/publish/", views.report_publish_view, name="report_publish"),
]
