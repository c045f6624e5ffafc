"""Internal monitoring pages (under i18n_patterns): logged in, scoped by role."""

from django.urls import path

from . import views_internal

app_name = "internal"
urlpatterns: list = [
    path("monitoring/", views_internal.dashboard, name="dashboard"),
]
