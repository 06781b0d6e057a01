"""Demo data: one row per page view."""
from django.db import models


class Visit(models.Model):
    """A view of the demo page, recorded by the pod that served it."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    served_by = models.CharField(max_length=255, help_text="Host name of the pod that served the page.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"visit {self.pk} served by {self.served_by}"
