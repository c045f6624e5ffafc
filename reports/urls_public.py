"""Public pages (no login), under i18n_patterns: published results only."""

from django.urls import path

from . import views_public as views

app_name = "public"
urlpatterns = [
    path("regions/<str:code>/", views.region, name="region"),
    path("regions/<str:code>/agencies/", views.role_map, name="role_map"),
    path("dimensions/<str:code>/", views.dimension, name="dimension"),
    path("methodology/", views.methodology, name="methodology"),
    path("semarang-raya/map/", views.semarang_raya_map, name="map"),
    path("semarang-raya/map.geojson", views.map_geojson, name="map_geojson"),
    path("results/<int:pk>/", views.report, name="report"),
    # Charts of the home page and the map: /embed/home/radar/; of a region or dimension
    # page: /embed/region/3374/radar/. The same ids serve the CSV of each chart.
    path("embed/<slug:page>/<slug:chart>/", views.embed, name="embed"),
    path("embed/<slug:page>/<str:code>/<slug:chart>/", views.embed, name="embed"),
    path("data/<slug:page>/<slug:chart>.csv", views.chart_csv, name="chart_csv"),
    path("data/<slug:page>/<str:code>/<slug:chart>.csv", views.chart_csv, name="chart_csv"),
]
