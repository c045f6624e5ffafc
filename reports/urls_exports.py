"""Public report pages, downloads and open data (under i18n_patterns: the URL's language is the
language of the texts). docs/open-data.md describes the files."""

from django.urls import path

from . import views_exports as views

app_name = "exports"
urlpatterns: list = [
    path("reports/<int:pk>/", views.report_html, name="report_html"),
    path(
        "reports/<int:pk>/report.pdf",
        views.report_download,
        {"file_format": "pdf"},
        name="report_pdf",
    ),
    path(
        "reports/<int:pk>/report.xlsx",
        views.report_download,
        {"file_format": "xlsx"},
        name="report_xlsx",
    ),
    path(
        "reports/<int:pk>/report.csv",
        views.report_download,
        {"file_format": "csv"},
        name="report_csv",
    ),
    path(
        "reports/<int:pk>/report.json",
        views.report_download,
        {"file_format": "json"},
        name="report_json",
    ),
    path(
        "reports/<int:pk>/chart.svg",
        views.report_download,
        {"file_format": "svg"},
        name="report_chart",
    ),
    path("open-data/", views.open_data, name="open_data"),
    path("open-data/catalog.json", views.open_data_catalog, name="open_data_catalog"),
]
