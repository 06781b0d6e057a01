"""The demo app: a page that writes to the database and uses the cache, plus probe views."""
from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Registers the demo app."""

    name = "demo"
    default_auto_field = "django.db.models.BigAutoField"
