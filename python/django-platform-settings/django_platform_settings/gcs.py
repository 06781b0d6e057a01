"""Static files on Google Cloud Storage with content-hashed names (for long CDN caching).

Imported only when ``DJANGO_APP_STATIC_BUCKET`` is set; needs ``django-storages[google]``.
In the pod, Workload Identity supplies the credentials (no key files).
"""
from django.contrib.staticfiles.storage import ManifestFilesMixin
from storages.backends.gcloud import GoogleCloudStorage


class GoogleCloudManifestStaticStorage(ManifestFilesMixin, GoogleCloudStorage):
    """``collectstatic`` uploads ``name.<hash>.ext`` plus ``staticfiles.json``; ``{% static %}``
    links to the hashed names, so a new release never serves stale CSS/JS from the CDN."""
