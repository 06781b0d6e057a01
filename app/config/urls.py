"""URL routes: probes, the demo page, uploads, tasks and the admin."""
from django.contrib import admin
from django.urls import path

from demo import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz/", views.healthz, name="healthz"),
    path("readyz/", views.readyz, name="readyz"),
    path("uploads/", views.uploads, name="uploads"),
    path("tasks/", views.enqueue_task, name="tasks"),
    path("tasks/<int:task_id>/", views.task_status, name="task"),
    path("admin/", admin.site.urls),
]
