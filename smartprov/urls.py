"""URL map. Pages are under i18n_patterns without a prefix for Indonesian (the default), and with
/en/ for English, so a link always shows the language it was shared in. Admin, API and health
checks keep the fixed paths of shared/contracts.md."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import views

admin.site.site_header = "SmartProv"
admin.site.site_title = "SmartProv"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("smartprov.api_urls")),
]

urlpatterns += i18n_patterns(
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("assessments.urls")),
    path("", include("reports.urls")),
    path("", include("reports.urls_public")),
    path("", include("reports.urls_exports")),
    path("", include("reports.urls_internal")),
    prefix_default_language=False,
)
