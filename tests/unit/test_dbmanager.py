"""The DB manager's task names, beat schedule and storage helpers that need no database."""

from __future__ import annotations

import pytest

from egp.config import load_settings
from egp.errors import ConfigurationError
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.types import TYPES
from egp.storage.locks import lock_key
from egp.storage.sql_pool import interface_key, is_runtime_literal
from egp.storage.sync import SyncError, upstream_of


def test_tasks_are_registered() -> None:
    """promote, pull, archive, watchdog and start are DB-manager tasks."""
    import dbmanager.app

    names = {"promote", "pull", "archive", "watchdog", "start"}
    assert {f"dbmanager.{n}" for n in names} <= set(dbmanager.app.app.tasks)


def test_promote_and_pull_are_scheduled_only_with_an_upstream(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without EGP_LIBRARY_URLS there is nothing to sync with."""
    import dbmanager.app
    from egp.config import get_settings

    monkeypatch.setenv("EGP_LIBRARY_URLS", '["postgresql://u@h/lib"]')
    get_settings.cache_clear()
    try:
        assert {"promote", "pull"} <= set(dbmanager.app.beat_schedule())
    finally:
        monkeypatch.delenv("EGP_LIBRARY_URLS")
        get_settings.cache_clear()
    assert "promote" not in dbmanager.app.beat_schedule()


def test_aligned_schedule_runs_at_its_phase_of_the_utc_clock() -> None:
    """Due once per period at the phase, whenever beat started; phases are checked against the period."""
    import pickle
    from datetime import UTC, datetime, timedelta

    from dbmanager.app import aligned, beat_schedule, sync_schedule

    start = datetime(2026, 1, 1, tzinfo=UTC)  # a multiple of every period below since the epoch
    every = aligned(6.0, 2.0)
    every.nowfun = lambda: start + timedelta(seconds=1.5)
    assert every.is_due(start + timedelta(seconds=1.0)) == (False, 0.5)
    every.nowfun = lambda: start + timedelta(seconds=2.25)
    assert every.is_due(start + timedelta(seconds=1.0)) == (True, 5.75)
    assert every.is_due(start + timedelta(seconds=2.1)) == (False, 5.75)
    every.nowfun = lambda: start + timedelta(seconds=19.0)  # beat was down: one run, not a backlog
    assert every.is_due(start + timedelta(seconds=2.1)) == (True, 1.0)
    assert repr(pickle.loads(pickle.dumps(aligned(6.0, 2.0)))) == repr(aligned(6.0, 2.0))
    assert sync_schedule(6.0, None) == 6.0
    with pytest.raises(ConfigurationError, match="EGP_PULL_PHASE_S"):
        load_settings(sync_interval_s=6.0, pull_phase_s=6.0)
    from egp.config import get_settings

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EGP_LIBRARY_URLS", '["postgresql://u@h/lib"]')
        patch.setenv("EGP_SYNC_INTERVAL_S", "6")
        patch.setenv("EGP_PULL_PHASE_S", "4")
        get_settings.cache_clear()
        try:
            entries = beat_schedule()
        finally:
            get_settings.cache_clear()
    assert entries["promote"]["schedule"] == 6.0 and isinstance(entries["pull"]["schedule"], aligned)
    assert entries["pull"]["options"] == {"expires": 6.0}


def test_interface_key_is_exact_and_ordered() -> None:
    """Different orders, counts or types give different keys."""
    f, i = TYPES.uid("float"), TYPES.uid("int")
    keys = {
        interface_key(a, b) for a, b in [((f, i), (f,)), ((i, f), (f,)), ((f, i, f), (f,)), ((f,), (i, f))]
    }
    assert len(keys) == 4
    assert interface_key((f, i), (f,)) == interface_key([f, i], [f])


def test_runtime_literals() -> None:
    """Only plain constants of the output's type count as runtime literals."""
    f, i, b = TYPES.uid("float"), TYPES.uid("int"), TYPES.uid("bool")
    assert is_runtime_literal("lit_0.5", "0.5", (), (f,))
    assert is_runtime_literal("lit_3", "3", (), (i,))
    assert is_runtime_literal("lit_True", "True", (), (b,))
    assert not is_runtime_literal("lit_3", "3", (), (f,))
    assert not is_runtime_literal("x", "__import__('os')", (), (f,))
    assert not is_runtime_literal("x", "0.5", (f,), (f,))
    assert codon_registry().by_name("lit_float_1").codon is not None


def test_lock_keys_differ_and_are_stable() -> None:
    """Advisory lock keys are 32-bit, distinct per name, and the same in every process and release."""
    names = ["sync", "archive", "watchdog", "island:job-1:0", "island:job-1:1", "island:job-2:0"]
    keys = [lock_key(n) for n in names]
    assert len(set(keys)) == len(names)
    assert all(0 <= k < 2**32 for k in keys)
    # The key is CRC-32 of "egp:" + name: a changed value would let an old and a new process both run.
    assert lock_key("sync") == 0x5EE4845D


def test_no_upstream_is_a_one_line_error() -> None:
    """Promoting without EGP_LIBRARY_URLS names the setting."""
    with pytest.raises(SyncError, match="EGP_LIBRARY_URLS"):
        upstream_of(load_settings(library_urls=[]))
