"""The DB manager's task names, beat schedule and storage helpers that need no database."""

from __future__ import annotations

import pytest

from egp.config import load_settings
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.types import TYPES
from egp.storage.sql_pool import interface_key, is_runtime_literal, lock_key
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
    """Advisory lock keys are 32-bit, the same in every process (no salted hash) and distinct per job."""
    assert lock_key("sync") == 0x5EE4845D
    jobs = ("sync", "archive", "watchdog")  # promote and pull share "sync"
    keys = [lock_key(job) for job in jobs]
    assert len(set(keys)) == len(jobs)
    assert all(0 <= key < 2**32 for key in keys)


def test_no_upstream_is_a_one_line_error() -> None:
    """Promoting without EGP_LIBRARY_URLS names the setting."""
    with pytest.raises(SyncError, match="EGP_LIBRARY_URLS"):
        upstream_of(load_settings(library_urls=[]))
