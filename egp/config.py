"""EGP settings: one typed object read from `EGP_*` environment variables, with embedded-mode defaults."""

from __future__ import annotations

import functools
import json
import uuid
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from egp.errors import ConfigurationError

ENV_PREFIX = "EGP_"

# The creator recorded on GCs and databases when the user has not configured one.
ANONYMOUS_CREATOR = uuid.UUID("1f8f45ca-0ce8-11f0-a067-73ab69491a6f")

# Celery apps need some broker; this is the one they use when EGP_BROKER_URL is unset.
DEFAULT_CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"


class FitnessMode(StrEnum):
    """Where fitness is evaluated: in the evolving process, or by the fitness executor pool."""

    LOCAL = "local"
    REMOTE = "remote"
    #: A job measures one evaluation and one hop to the executor pool when it starts and picks one of them.
    AUTO = "auto"


class DatabaseRole(StrEnum):
    """What a database is for; recorded once in its `meta` row."""

    POOL = "pool"
    LIBRARY = "library"
    ARCHIVE = "archive"


def normalise_database_url(url: str) -> str:
    """Return `url` with Postgres pointed at psycopg 3; reject anything that is not Postgres or SQLite."""
    # SQLAlchemy is imported here, not at the top: `egp --help` reads this module and need not load it.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(f"{url!r} is not a database URL") from None
    backend, _, driver = parsed.drivername.partition("+")
    if backend in ("postgres", "postgresql"):
        if driver not in ("", "psycopg"):
            raise ValueError(f"{url!r} uses driver {driver!r}; EGP talks to Postgres through psycopg 3")
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend == "sqlite":
        if driver not in ("", "pysqlite"):
            raise ValueError(f"{url!r} uses driver {driver!r}; EGP talks to SQLite through pysqlite")
    else:
        raise ValueError(f"{url!r} is not a Postgres or SQLite URL")
    return parsed.render_as_string(hide_password=False)


def _check_broker_url(url: str | None) -> str | None:
    """Accept a Celery broker or result-backend URL of the form `scheme://...`."""
    if url is None or url.strip() == "":
        return None
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme or not scheme.replace("+", "").isalnum():
        raise ValueError(f"{url!r} is not a broker URL (expected e.g. redis://127.0.0.1:6379/0)")
    return url


DatabaseURL = Annotated[str, AfterValidator(normalise_database_url)]
BrokerURL = Annotated[str | None, AfterValidator(_check_broker_url)]


class Settings(BaseSettings):
    """Every EGP setting; the defaults give the embedded mode (SQLite file, in-process execution)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        frozen=True,
    )

    gene_pool_url: DatabaseURL = Field(
        default="sqlite:///egp-genepool.db",
        description="Database URL of the Gene Pool (Postgres or SQLite); default: a SQLite file in the cwd.",
    )
    library_urls: list[DatabaseURL] = Field(
        default_factory=list,
        description="Database URLs of the upstream Genomic Libraries as a JSON list, nearest upstream first.",
    )
    broker_url: BrokerURL = Field(
        default=None,
        description="Celery broker URL; unset means embedded mode (no broker, in-process execution).",
    )
    result_backend: BrokerURL = Field(
        default=None,
        description="Celery result backend URL; unset means the broker URL.",
    )
    database_role: DatabaseRole = Field(
        default=DatabaseRole.POOL,
        description="Role `egp db upgrade` records in a new database's meta row: pool, library or archive.",
    )
    creator: uuid.UUID = Field(
        default=ANONYMOUS_CREATOR,
        description="UUID recorded as the creator of new GCs and databases; default: the anonymous creator.",
    )
    fitness_mode: FitnessMode = Field(
        default=FitnessMode.AUTO,
        description="Where a job's fitness is evaluated: local (in the evolving process), remote (executor"
        " pool) or auto (picked at the job's start from the measured cost of an evaluation and of a hop).",
    )
    l1_cache_bytes: int = Field(
        default=1_000_000, gt=0, description="Size bound of a worker's L1 GC cache, in bytes."
    )
    l2_cache_bytes: int = Field(
        default=1_000_000_000, gt=0, description="Size bound of a worker's L2 GC cache, in bytes."
    )
    # 10, the engine's own: with the default 500-GC islands an epoch is 5,000 evaluations, so a job's fixed
    # cost per epoch task (restoring members, one transaction, the next dispatch) stays small beside it.
    epoch_generations: int = Field(
        default=10,
        gt=0,
        description="Generations an island evolves in one epoch (between migrations; one evolution task in a"
        " job), for runs that do not set epoch_generations.",
    )
    fitness_time_limit_s: float = Field(
        default=10.0, gt=0, description="Wall-clock limit for scoring one GC in a fitness executor, in s."
    )
    fitness_batch_size: int = Field(
        default=50,
        gt=0,
        description="Most GCs per fitness.evaluate_batch task in remote fitness mode (batches are sized from"
        " the measured evaluation and hop costs, up to this).",
    )
    fitness_probe_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="auto fitness mode: seconds a starting job waits for an executor's answer before it"
        " scores locally.",
    )
    fitness_batch_timeout_s: float = Field(
        default=20.0,
        gt=0,
        description="Seconds without a new score before an epoch re-sends the fitness batches still missing.",
    )
    executor_memory_limit_mb: int = Field(
        default=2048,
        gt=0,
        description="Memory limit (address space) of a fitness executor child process, in MiB.",
    )
    visibility_timeout_s: int = Field(
        default=600,
        gt=0,
        description="Redis visibility timeout: seconds before an unacknowledged task is redelivered.",
    )
    task_time_limit_s: int | None = Field(
        default=None,
        gt=0,
        description="Hard time limit of any task in s (soft: 90% of it), below the visibility timeout;"
        " unset: 90% of the visibility timeout.",
    )
    result_expires_s: int = Field(
        default=86_400, gt=0, description="Seconds Celery keeps a task result in the result backend."
    )
    selection_window: int = Field(
        default=1024,
        gt=0,
        description="Parent selection draws from this many most-survivable GCs of a problem (index read).",
    )
    promote_min_evaluations: int = Field(
        default=1,
        ge=0,
        description="Promotion: a GC needs at least this many fitness evaluations on a problem.",
    )
    promote_min_fitness: float = Field(
        default=0.5, description="Promotion: a GC needs at least this mean fitness on a problem."
    )
    promote_min_pgc_uses: int = Field(
        default=1, ge=1, description="Promotion: a pGC needs at least this many uses at some layer."
    )
    pull_best_per_problem: int = Field(
        default=100, ge=0, description="Pull: how many of the library's best GCs to fetch per local problem."
    )
    pull_best_pgcs_per_layer: int = Field(
        default=16, ge=0, description="Pull: how many of the library's best pGCs to fetch per layer."
    )
    archive_max_fitness: float = Field(
        default=0.1,
        description="Archive: only GCs whose mean fitness on every problem is below this retire.",
    )
    archive_min_age_s: int = Field(
        default=86_400, ge=0, description="Archive: only GCs stored at least this many seconds ago retire."
    )
    archive_batch: int = Field(
        default=10_000, gt=0, description="Archive: the most GCs one archive run retires."
    )
    sync_interval_s: float = Field(
        default=60.0, gt=0, description="Seconds between the DB manager's promote and pull runs."
    )
    promote_phase_s: float | None = Field(
        default=None,
        ge=0,
        description="Promote at this offset (s) into each sync period of the UTC clock; unset: every"
        " period from the DB manager's start.",
    )
    pull_phase_s: float | None = Field(
        default=None,
        ge=0,
        description="Pull at this offset (s) into each sync period of the UTC clock; unset: every"
        " period from the DB manager's start.",
    )
    archive_interval_s: float = Field(
        default=3600.0, gt=0, description="Seconds between the DB manager's archive runs."
    )
    watchdog_interval_s: float = Field(
        # Short: a run is two queries, and a stalled job's recovery waits for its lease plus up to this.
        default=5.0,
        gt=0,
        description="Seconds between the DB manager's watchdog runs.",
    )
    dbmanager_auto_upgrade: bool = Field(
        default=True,
        description="The DB manager brings its database to the newest schema on start (else it refuses).",
    )

    @model_validator(mode="after")
    def _tasks_end_before_redelivery(self) -> Settings:
        """A task still running at the visibility timeout would be delivered again, to run twice at once."""
        if self.task_time_limit_s is not None and self.task_time_limit_s >= self.visibility_timeout_s:
            raise ValueError(
                f"{env_name('task_time_limit_s')} ({self.task_time_limit_s}) must be below"
                f" {env_name('visibility_timeout_s')} ({self.visibility_timeout_s}):"
                " a task still running at the visibility timeout is delivered a second time"
            )
        return self

    @model_validator(mode="after")
    def _phases_within_the_period(self) -> Settings:
        """A phase is an offset into one sync period, so it must be shorter than the period."""
        for name in ("promote_phase_s", "pull_phase_s"):
            phase = getattr(self, name)
            if phase is not None and phase >= self.sync_interval_s:
                raise ValueError(
                    f"{env_name(name)} ({phase}) must be below {env_name('sync_interval_s')}"
                    f" ({self.sync_interval_s}): it is an offset into one sync period"
                )
        return self

    @property
    def task_hard_time_limit_s(self) -> int:
        """The hard time limit of every task: the configured one, or 90% of the visibility timeout."""
        return self.task_time_limit_s or max(1, self.visibility_timeout_s * 9 // 10)

    @property
    def embedded(self) -> bool:
        """True when no broker is configured, so everything runs in-process."""
        return self.broker_url is None

    @property
    def celery_broker_url(self) -> str:
        """The broker the Celery apps connect to: the configured one, or local Redis."""
        return self.broker_url or DEFAULT_CELERY_BROKER_URL

    @property
    def celery_result_backend(self) -> str:
        """The result backend of the Celery apps: the configured one, or the broker."""
        return self.result_backend or self.celery_broker_url


def env_name(field: str) -> str:
    """Return the environment variable that sets a Settings field, e.g. `EGP_GENE_POOL_URL`."""
    return ENV_PREFIX + field.upper()


def format_validation_error(error: ValidationError) -> str:
    """Render a Settings ValidationError as one line naming each offending environment variable."""
    parts: list[str] = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        name = env_name(loc[0]) if loc else "EGP settings"
        name += "".join(f"[{part}]" for part in loc[1:])
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] != "value_error":
            message = f"{item.get('input')!r}: {message}"
        parts.append(f"{name}: {message}")
    return "; ".join(parts)


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment (and `overrides`), raising ConfigurationError on bad values."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(format_validation_error(error)) from None
    except SettingsError as error:
        # pydantic-settings raises this when a complex value (a JSON list) does not parse.
        field = str(error).split("field ")[-1].split(" ")[0].strip('"')
        raise ConfigurationError(f"{env_name(field)}: not valid JSON ({error})") from None


def display_url(url: str) -> str:
    """Return `url` with any password masked, for messages, status output and `egp config`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def shown_settings(settings: Settings) -> dict[str, Any]:
    """Return the settings keyed by environment variable, JSON-ready, with passwords in URLs masked."""
    shown: dict[str, Any] = {}
    for name, value in settings.model_dump(mode="json").items():
        if name.endswith("_url") or name == "result_backend":
            value = display_url(value) if value else value
        elif name.endswith("_urls"):
            value = [display_url(url) for url in value]
        shown[env_name(name)] = value
    return shown


def _type_name(annotation: Any) -> str:
    """Describe a field's type for the reference table: enum choices, `url`, `int`, `list of urls`."""
    if isinstance(annotation, type) and issubclass(annotation, StrEnum):
        return " / ".join(member.value for member in annotation)
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "")


def settings_reference_markdown() -> str:
    """Return a Markdown table of every setting: variable, type, default and description."""
    lines = ["| variable | type | default | description |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        if isinstance(default, StrEnum):
            default = default.value
        shown = (
            "unset"
            if default is None
            else f"`{json.dumps(default) if isinstance(default, list) else default}`"
        )
        kind = _FIELD_TYPES.get(name) or _type_name(field.annotation)
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{env_name(name)}` | {kind} | {shown} | {description} |")
    return "\n".join(lines) + "\n"


# How the reference table names types whose annotation is not self-explanatory.
_FIELD_TYPES = {
    "gene_pool_url": "database URL",
    "library_urls": "JSON list of database URLs",
    "broker_url": "broker URL",
    "result_backend": "backend URL",
    "creator": "UUID",
    "task_time_limit_s": "int",
}


@functools.cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return load_settings()
