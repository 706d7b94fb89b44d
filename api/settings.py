"""Every setting of the service read from the environment, in one class (``SPARES_`` prefix).

:func:`load` reads the environment each time it is called (cheap; used at start-up and by the
few places that read a folder setting per job), so a test's ``monkeypatch.setenv`` is seen.
A bad value stops with :class:`SettingsError`, one line per bad variable, naming it::

    SPARES_REQUEST_THREADS='many': Input should be a valid integer

Per-app objects (:class:`api.context.ApiSettings`, :class:`api.limits.Limits`) take their
defaults from here; tests build those directly instead of setting variables. The table of
settings is in README.md ("Settings").
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from limits import parse_many
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PREFIX = "SPARES_"
OFF = ("", "off", "none", "0")
"""Values that switch a rate limit off."""


class SettingsError(ValueError):
    """One or more environment variables hold a bad value; the message names each."""


class Settings(BaseSettings):
    """The service's settings; each field is the variable ``SPARES_<FIELD>`` (any case)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", frozen=True,
                                      case_sensitive=False)

    database_url: str = "sqlite:///spares.db"
    """SQLAlchemy URL; ``postgresql://`` picks psycopg 3."""
    restock_dir: Path = Path("restock-runs")
    """Where restock runs started through the API write their outputs."""
    plans_dir: Path = Path("plans")
    """Where the workspace's plan jobs write."""
    request_threads: int = Field(8, gt=0)
    """Requests run on worker threads at once per server process."""
    max_body_bytes: int = Field(256 * 1024, gt=0)
    """The largest request body (413 beyond)."""
    rate_per_key: str | None = "200/second"
    rate_per_address: str | None = "400/second"
    rate_auth_failures: str | None = "30/minute"
    """Rate limits (``limits`` syntax, ``100/second;3000/minute``); ``off`` switches one off."""
    rate_limit_storage: str = "memory"
    """Where every server process counts the rate limits: ``database`` (the app's), ``memory``
    (each process on its own) or a ``redis://host:port/db`` URL (:mod:`api.ratecount`)."""
    webhook_allow: Annotated[tuple[str, ...], NoDecode] = ()
    """Origins that may take plain http / non-public addresses (comma separated)."""
    webhook_retry_hours: float = Field(24.0, gt=0)
    webhook_max_subscriptions: int = Field(20, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    """``json``: one JSON object per line (default); ``text``: for a terminal."""
    access_log: bool = True
    """One log line per request (method, route, status, duration, request id, organization)."""
    metrics: Literal["admin", "public", "off"] = "admin"
    """Who may read ``/metrics``: an admin-scope key, anyone (a private port), or nobody."""
    metrics_dir: Path | None = None
    """prometheus-client's multiprocess folder for ``--workers N`` (also read from
    ``PROMETHEUS_MULTIPROC_DIR``); ``spares serve`` creates and empties it at start."""
    serve_url: str | None = None
    serve_plan: Path | None = None
    """Internal: how ``spares serve --workers N`` hands the database and plan to its workers."""

    @field_validator("webhook_allow", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("rate_per_key", "rate_per_address", "rate_auth_failures", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().lower() in OFF:
            return None
        try:
            parse_many(value.strip())
        except ValueError:
            raise ValueError("not a rate such as 100/second or 100/second;3000/minute") from None
        return value.strip()

    @field_validator("rate_limit_storage")
    @classmethod
    def _storage(cls, value: str) -> str:
        value = value.strip()
        if value not in ("database", "memory") and not value.startswith(
                ("redis://", "rediss://", "redis+unix://")):
            raise ValueError("use database, memory or a redis:// URL")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("log_format", "metrics", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def load() -> Settings:
    """The settings from the environment now; :class:`SettingsError` naming each bad variable."""
    try:
        settings = Settings()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = PREFIX + str(err["loc"][0]).upper() if err["loc"] else PREFIX
            raw = os.environ.get(name, os.environ.get(name.lower()))
            lines.append(f"{name}={raw!r}: {err['msg']}")
        raise SettingsError("; ".join(lines)) from None
    if settings.metrics_dir is None and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        settings = settings.model_copy(
            update={"metrics_dir": Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])})
    return settings
