"""REST API v1 (mounted at /api/v1/)."""

urlpatterns: list = []
