"""Settings: embedded defaults, environment parsing, URL normalisation and one-line errors."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from egp.config import (
    ANONYMOUS_CREATOR,
    DatabaseRole,
    FitnessMode,
    Settings,
    display_url,
    load_settings,
    normalise_database_url,
    settings_reference_markdown,
    shown_settings,
)
from egp.errors import ConfigurationError

EGP = str(Path(sys.executable).parent / "egp")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every EGP_ variable so each test sees only what it sets."""
    import os

    for name in list(os.environ):
        if name.startswith("EGP_"):
            monkeypatch.delenv(name)


def test_defaults_are_the_embedded_mode() -> None:
    """With no environment, the Gene Pool is a SQLite file in the cwd and there is no broker."""
    settings = load_settings()
    assert settings.gene_pool_url == "sqlite:///egp-genepool.db"
    assert settings.embedded and settings.broker_url is None
    assert settings.library_urls == []
    assert settings.l1_cache_bytes == 1_000_000 and settings.l2_cache_bytes == 1_000_000_000
    assert settings.fitness_mode is FitnessMode.AUTO
    assert settings.creator == ANONYMOUS_CREATOR == uuid.UUID("1f8f45ca-0ce8-11f0-a067-73ab69491a6f")
    assert settings.database_role is DatabaseRole.POOL
    assert settings.celery_broker_url == "redis://127.0.0.1:6379/0"
    assert settings.celery_result_backend == settings.celery_broker_url


def test_environment_sets_every_kind_of_field(monkeypatch: pytest.MonkeyPatch) -> None:
    """EGP_ variables set URLs, a JSON list of libraries, enums and numbers."""
    monkeypatch.setenv("EGP_GENE_POOL_URL", "postgres://egp:secret@db:5432/pool")
    monkeypatch.setenv("EGP_LIBRARY_URLS", '["postgresql://lib1/egp", "sqlite:///lib2.db"]')
    monkeypatch.setenv("EGP_BROKER_URL", "redis://redis:6379/0")
    monkeypatch.setenv("EGP_FITNESS_MODE", "remote")
    monkeypatch.setenv("EGP_L1_CACHE_BYTES", "2048")
    settings = load_settings()
    assert settings.gene_pool_url == "postgresql+psycopg://egp:secret@db:5432/pool"
    assert settings.library_urls == ["postgresql+psycopg://lib1/egp", "sqlite:///lib2.db"]
    assert not settings.embedded and settings.celery_result_backend == "redis://redis:6379/0"
    assert settings.fitness_mode is FitnessMode.REMOTE
    assert settings.l1_cache_bytes == 2048


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://h/db", "postgresql+psycopg://h/db"),
        ("postgresql://u:p@h:5433/db", "postgresql+psycopg://u:p@h:5433/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///relative.db", "sqlite:///relative.db"),
        ("sqlite:////abs/path.db", "sqlite:////abs/path.db"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    """Postgres URLs point at psycopg 3; SQLite URLs pass through."""
    assert normalise_database_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "'not a url' is not a database URL"),
        ("mysql://h/db", "'mysql://h/db' is not a Postgres or SQLite URL"),
        ("postgresql+psycopg2://h/db", "EGP talks to Postgres through psycopg 3"),
    ],
)
def test_bad_database_urls_are_rejected(url: str, message: str) -> None:
    """Anything but Postgres-via-psycopg or SQLite is refused with a reason."""
    with pytest.raises(ValueError, match=message):
        normalise_database_url(url)


def test_a_malformed_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The error is one line naming the environment variable and the bad value."""
    monkeypatch.setenv("EGP_GENE_POOL_URL", "not a url")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    assert str(raised.value) == "EGP_GENE_POOL_URL: 'not a url' is not a database URL"


def test_errors_in_lists_and_numbers_name_their_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bad library entry is named with its index; a bad number with its value."""
    monkeypatch.setenv("EGP_LIBRARY_URLS", '["sqlite:///ok.db", "nope"]')
    monkeypatch.setenv("EGP_L2_CACHE_BYTES", "lots")
    with pytest.raises(ConfigurationError) as raised:
        load_settings()
    message = str(raised.value)
    assert "EGP_LIBRARY_URLS[1]: 'nope' is not a database URL" in message
    assert "EGP_L2_CACHE_BYTES: 'lots'" in message
    assert "\n" not in message


def test_invalid_json_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library list that is not JSON is reported against EGP_LIBRARY_URLS."""
    monkeypatch.setenv("EGP_LIBRARY_URLS", "[not json")
    with pytest.raises(ConfigurationError, match=r"^EGP_LIBRARY_URLS: not valid JSON"):
        load_settings()


def test_the_cli_reports_bad_settings_in_one_line() -> None:
    """`egp status` with a malformed URL prints one red line naming the variable, and no traceback."""
    result = subprocess.run(
        [EGP, "status"],
        env={"EGP_GENE_POOL_URL": "not a url", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: EGP_GENE_POOL_URL: 'not a url' is not a database URL"
    assert "Traceback" not in result.stdout + result.stderr


def test_passwords_are_masked_when_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """`egp config` and status output never show a password from a URL."""
    monkeypatch.setenv("EGP_GENE_POOL_URL", "postgresql://egp:hunter2@db/egp")
    monkeypatch.setenv("EGP_BROKER_URL", "redis://:hunter2@redis:6379/0")
    shown = shown_settings(load_settings())
    assert "hunter2" not in str(shown)
    assert display_url("postgresql://egp:hunter2@db/egp") == "postgresql://egp:***@db/egp"


def test_every_setting_has_a_description() -> None:
    """Each field carries the description the README's reference table is built from."""
    assert all(field.description for field in Settings.model_fields.values())


def test_the_readme_configuration_table_is_current() -> None:
    """README.md contains exactly the table `egp config --markdown` prints."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert settings_reference_markdown() in readme, "regenerate it with `egp config --markdown`"
