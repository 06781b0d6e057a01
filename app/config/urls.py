"""URL routes: probes, the demo page, uploads, tasks and — when switched on — the admin.

The admin is mounted only with ``ADMIN_ENABLED`` (DJANGO_APP_ADMIN_ENABLED), at ``ADMIN_PATH``
(DJANGO_APP_ADMIN_PATH, a prefix of the stack's choosing); otherwise every admin URL is 404.
Uploads and tasks answer 404 to anonymous visitors unless their switches are on (demo/views.py).
"""
from django.conf import settings
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
]
if settings.ADMIN_ENABLED:
    urlpatterns.append(path(settings.ADMIN_PATH, admin.site.urls))
