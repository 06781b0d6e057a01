"""Typed reading of the environment contract.

Every variable the app reads goes through one :class:`EnvReader`, which remembers the name and
whether it is plain (ConfigMap), secret (Kubernetes Secret), downward-API, or set per container
(a value the platform writes into one container's own ``env``, e.g. that pod's signing account). :func:`django_platform_settings.apply`
publishes that record as ``ENV_CONTRACT`` so the platform's contract test can compare it with
what the platform renders. Empty values count as unset: a ConfigMap may carry ``""`` for an
optional value.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ImproperlyConfigured

PLAIN = "plain"
SECRET = "secret"
DOWNWARD = "downward"
CONTAINER = "container"

_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class EnvReader:
    """Reads environment variables and records which ones were read, and how."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self._kinds: dict[str, str] = {}

    def _get(self, name: str, kind: str) -> str | None:
        previous = self._kinds.setdefault(name, kind)
        if previous != kind:
            raise ImproperlyConfigured(f"{name} is read both as {previous} and as {kind}; read it once.")
        value = self._environ.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str = "") -> str:
        """A plain string, or ``default`` when unset."""
        value = self._get(name, PLAIN)
        return default if value is None else value

    def flag(self, name: str, default: bool) -> bool:
        """A boolean written as true/false (also 1/0, yes/no, on/off)."""
        value = self._get(name, PLAIN)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', got {value!r}.")

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        """A whole number not below ``minimum``."""
        value = self._get(name, PLAIN)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}.") from None
        if number < minimum:
            raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}.")
        return number

    def choice(self, name: str, default: str, choices: Sequence[str], hint: str = "") -> str:
        """One of ``choices``; ``hint`` is appended to the error message."""
        value = self.text(name, default)
        if value not in choices:
            raise ImproperlyConfigured(
                f"{name} must be one of {', '.join(choices)}; got {value!r}.{' ' + hint if hint else ''}"
            )
        return value

    def words(self, name: str) -> list[str]:
        """A whitespace-separated list (empty when unset)."""
        value = self._get(name, PLAIN)
        return [] if value is None else value.split()

    def secret(self, name: str) -> str | None:
        """A value the platform keeps in a Kubernetes Secret, or None when unset."""
        return self._get(name, SECRET)

    def downward(self, name: str) -> str | None:
        """A value Kubernetes injects from the downward API (e.g. the pod IP), or None."""
        return self._get(name, DOWNWARD)

    def container(self, name: str) -> str | None:
        """A plain value the platform sets in each container's own ``env`` (not in the ConfigMap), or None."""
        return self._get(name, CONTAINER)

    def any_set(self, prefix: str) -> bool:
        """True when any variable read so far whose name starts with ``prefix`` has a value."""
        return any(self._environ.get(name, "").strip() for name in self._kinds if name.startswith(prefix))

    def contract(self) -> dict[str, list[str]]:
        """Names read so far, grouped by kind and sorted: ``{"plain": [...], "secret": [...], ...}``."""
        grouped: dict[str, list[str]] = {PLAIN: [], SECRET: [], DOWNWARD: [], CONTAINER: []}
        for name, kind in self._kinds.items():
            grouped[kind].append(name)
        return {kind: sorted(names) for kind, names in grouped.items()}
