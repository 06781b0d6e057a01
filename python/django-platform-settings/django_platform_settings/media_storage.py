"""Where uploads (Django's default storage) live: a private GCS bucket, or local files.

Pure functions, like static_storage.py: nothing here imports the Google client.

With ``DJANGO_APP_MEDIA_BUCKET`` set, uploads go to that bucket through django-storages' GCS
backend. The bucket is private (uniform bucket-level access, public access prevented), so links to
files are V4 signed URLs that expire. A pod has no key file to sign with: under Workload Identity
its credentials are an access token for its Google service account. django-storages 1.14.6 signs
through the IAM Credentials ``signBlob`` API when ``iam_sign_blob`` is on: it refreshes the
credentials and passes ``service_account_email`` (``sa_email`` has the final say) and
``access_token`` to google-cloud-storage's ``Blob.generate_signed_url(version="v4")``, which then
posts the string to sign to ``iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/<email>:signBlob``
(storages/backends/gcloud.py ``url`` and ``_get_iam_sign_blob_params``, added in
https://github.com/jschneier/django-storages/pull/1427; google/cloud/storage/_signing.py
``generate_signed_url_v4`` and ``_sign_message`` in googleapis/python-storage). The caller needs
``iam.serviceAccounts.signBlob`` on the signing account (the platform's URL signer role holds
exactly that), the Service Account Credentials API enabled, and the signing account needs read access
to the objects it signs for (https://cloud.google.com/storage/docs/authentication/creating-signatures,
https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/signBlob);
the platform binds that role on each signing pod's account, to itself, and names it in
``DJANGO_APP_MEDIA_SIGNER``.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ImproperlyConfigured

LOCAL_MEDIA_STORAGE = "django.core.files.storage.FileSystemStorage"
GCS_MEDIA_STORAGE = "storages.backends.gcloud.GoogleCloudStorage"

#: How long a signed link to an upload works (V4 signed URLs allow at most 7 days).
SIGNED_URL_LIFETIME = timedelta(hours=1)


def media_storage(bucket: str, signer: str | None) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry: the private bucket with IAM-signed URLs, or local files."""
    if not bucket:
        return {"BACKEND": LOCAL_MEDIA_STORAGE}
    if not signer or "@" not in signer:
        raise ImproperlyConfigured(
            f"DJANGO_APP_MEDIA_BUCKET is set ({bucket!r}) but DJANGO_APP_MEDIA_SIGNER is "
            f"{signer or 'empty'!r}; it must be the email of the pod's Google service account, which signs "
            "the links to uploads (the platform sets both, in the containers whose identity may use the bucket)."
        )
    return {
        "BACKEND": GCS_MEDIA_STORAGE,
        "OPTIONS": {
            "bucket_name": bucket,
            # Private objects: no ACLs (uniform bucket-level access rejects them), signed links only.
            "default_acl": None,
            "querystring_auth": True,
            "expiration": SIGNED_URL_LIFETIME,
            "iam_sign_blob": True,
            "sa_email": signer,
            # Two uploads with the same name must not overwrite each other.
            "file_overwrite": False,
        },
    }
