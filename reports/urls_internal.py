app_name = "internal"
urlpatterns: list = []
