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


class Upload(models.Model):
    """A file uploaded through the demo page, kept in Django's default storage (the media bucket)."""

    file = models.FileField(upload_to="uploads/%Y/%m/")
    uploaded_at = models.DateTimeField(auto_now_add=True)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.file.name


class Task(models.Model):
    """A unit of background work: queued by a web request, done by the ``demo_worker`` command."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    STATUSES = [(QUEUED, "queued"), (RUNNING, "running"), (DONE, "done")]

    text = models.TextField(help_text="Input of the task.")
    seconds = models.FloatField(default=0, help_text="Simulated work time, to show graceful shutdown.")
    status = models.CharField(max_length=16, choices=STATUSES, default=QUEUED)
    result = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the text, hex.")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=255, blank=True, help_text="Host name of the worker pod.")

    def __str__(self) -> str:
        return f"task {self.pk} ({self.status})"
