"""The reference app's public switches (settings ``ADMIN_ENABLED``, ``DEMO_ANONYMOUS_UPLOADS``,
``DEMO_ANONYMOUS_TASKS``): the admin's URL prefix, and the guard of the demo's anonymous views."""
from __future__ import annotations

import re
from functools import wraps
from typing import Any, Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse

#: One or more path segments, each starting with a letter or digit, ending in a slash: ``staff-7f3a/``.
_ADMIN_PATH = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._~-]*/)+$")
#: The app's own routes (config/urls.py), which the admin must not shadow.
_RESERVED = ("healthz/", "readyz/", "uploads/", "tasks/")


def check_admin_path(path: str) -> None:
    """Refuses an admin prefix Django's ``path()`` would mount somewhere else than meant (an empty one
    is refused earlier, by ``django_platform_settings.apply``)."""
    if not _ADMIN_PATH.match(path) or path.startswith(_RESERVED):
        raise ImproperlyConfigured(
            f"DJANGO_APP_ADMIN_PATH must be a relative URL prefix ending in '/', such as 'staff-7f3a/', and not "
            f"one of the app's routes ({', '.join(_RESERVED)}); got {path!r}."
        )


def allowed(request: HttpRequest, setting: str) -> bool:
    """Whether this visitor may use the feature behind ``setting``: anyone while it is on, a
    signed-in user (through the admin, when that is on) either way."""
    return bool(getattr(settings, setting)) or request.user.is_authenticated


def anonymous_switch(setting: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view guard: 404 unless :func:`allowed`."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not allowed(request, setting):
                raise Http404(f"off ({setting})")
            return view(request, *args, **kwargs)

        return guarded

    return decorator
