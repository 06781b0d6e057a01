"""Where static files live: local files, or a GCS bucket behind Cloud CDN.

Pure functions only — nothing here imports the Google client, so settings load (and are unit
tested) on machines without google-cloud-storage. The storage class itself is in
``gcs.py`` beside this module.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

#: Hashed names never change content, so browsers and the CDN may keep them for a year.
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"

GCS_HOST = "storage.googleapis.com"

LOCAL_STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"
GCS_STATIC_STORAGE = "django_platform_settings.gcs.GoogleCloudManifestStaticStorage"


def validate_static_url(static_url: str, bucket: str) -> None:
    """Rejects ``gs://`` URLs (not servable by browsers), missing trailing slashes and non-https bucket URLs."""
    if static_url.startswith("gs://"):
        raise ImproperlyConfigured(
            f"DJANGO_APP_STATIC_URL must be the https URL browsers fetch files from, not a gs:// path "
            f"(got {static_url!r}); use e.g. https://{GCS_HOST}/<bucket>/static/ or the CDN's URL."
        )
    if not static_url.endswith("/"):
        raise ImproperlyConfigured(f"DJANGO_APP_STATIC_URL must end with '/', got {static_url!r}.")
    if bucket and urlsplit(static_url).scheme != "https":
        raise ImproperlyConfigured(
            f"DJANGO_APP_STATIC_URL must be an absolute https:// URL when DJANGO_APP_STATIC_BUCKET is set, "
            f"got {static_url!r}."
        )


def gcs_storage_options(static_url: str, bucket: str) -> dict[str, Any]:
    """django-storages options that upload to ``bucket`` and link to files under ``static_url``.

    The URL path maps 1:1 to object names (as a Cloud CDN backend bucket serves them), so the
    object prefix (``location``) is the URL path; for ``https://storage.googleapis.com/<bucket>/…``
    the bucket segment is not part of the object name.
    """
    parts = urlsplit(static_url)
    path = parts.path.strip("/")
    endpoint = f"https://{parts.netloc}"
    if parts.netloc == GCS_HOST:
        first, _, path = path.partition("/")
        if first != bucket:
            raise ImproperlyConfigured(
                f"DJANGO_APP_STATIC_URL {static_url!r} points at bucket {first!r} but DJANGO_APP_STATIC_BUCKET "
                f"is {bucket!r}; make them name the same bucket."
            )
        endpoint = f"https://{GCS_HOST}/{bucket}"
    return {
        "bucket_name": bucket,
        "location": path,
        "custom_endpoint": endpoint,
        # Public CDN URLs; Workload Identity credentials cannot sign URLs without extra IAM.
        "querystring_auth": False,
        # Uniform bucket-level access: object ACLs are rejected, IAM decides who reads.
        "default_acl": None,
        "file_overwrite": True,
        "object_parameters": {"cache_control": IMMUTABLE_CACHE_CONTROL},
    }


def storages(static_url: str, bucket: str) -> dict[str, dict[str, Any]]:
    """The ``STORAGES`` setting: GCS with hashed names when ``bucket`` is set, else local files."""
    validate_static_url(static_url, bucket)
    if bucket:
        staticfiles: dict[str, Any] = {"BACKEND": GCS_STATIC_STORAGE, "OPTIONS": gcs_storage_options(static_url, bucket)}
    else:
        staticfiles = {"BACKEND": LOCAL_STATIC_STORAGE}
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": staticfiles,
    }
