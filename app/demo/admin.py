"""Read-only admin for visits."""
from django.contrib import admin

from .models import Visit


@admin.register(Visit)
class VisitAdmin(admin.ModelAdmin):
    """Lists visits; they are written only by the demo page."""

    list_display = ("id", "created_at", "served_by")
    readonly_fields = ("created_at", "served_by")
