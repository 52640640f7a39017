"""Push (promote): send GCs passing the promotion thresholds, with their closure, and every statistic delta
to the upstream library.

A push is idempotent: it is first written locally as a numbered pending batch together with the new
snapshots (one transaction), then applied upstream in one transaction that also records the batch number for
this downstream database, so a batch re-sent after a crash is recognised and skipped.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy import text

from egp.config import Settings, display_url
from egp.storage.locks import advisory_lock
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync.admission import admit, quarantine
from egp.storage.sync.delta import (
    PGC_VALUES,
    PUSH_PGC_CONFLICT,
    PUSH_STATS_CONFLICT,
    STATS_VALUES,
    WIRE_UNITS,
    bind_wire,
    wire_delta,
)
from egp.storage.sync.peers import SyncReport, open_upstream, peer_name, upstream_of
from egp.storage.sync.prepare import database_uuid


def _prepare_push(local: SQLGenePool, peer: str, settings: Settings) -> dict[str, Any] | None:
    """Pick what to push, store it as the pending batch and advance the snapshots (one local transaction)."""
    with local.transaction() as connection:
        connection.execute(
            text("INSERT INTO sync_state (peer) VALUES (:peer) ON CONFLICT (peer) DO NOTHING"), {"peer": peer}
        )
        seq = (
            int(
                connection.execute(
                    text("SELECT push_seq FROM sync_state WHERE peer = :peer"), {"peer": peer}
                ).scalar_one()
            )
            + 1
        )
        candidates = [
            bytes(r[0])
            for r in connection.execute(
                text(
                    # Passing the thresholds and changed since the last exchange (what was pushed or
                    # pulled before is upstream already, so a repeated push sends nothing).
                    "SELECT signature FROM gc_problem_stats WHERE fitness_count >= :n AND fitness >= :f AND ("
                    + " OR ".join(f"{v} <> {v}_snap" for v in STATS_VALUES)
                    + ") UNION SELECT signature FROM pgc_stats WHERE fitness_count >= :uses AND ("
                    + " OR ".join(f"{v} <> {v}_snap" for v in PGC_VALUES)
                    + ")"
                ),
                {
                    "n": max(settings.promote_min_evaluations, 1),
                    "f": settings.promote_min_fitness,
                    "uses": settings.promote_min_pgc_uses,
                },
            )
        ]
        closure = [bytes(r["signature"]) for r in local.closure_rows(candidates, connection, ("signature",))]
        pushed = set(closure)
        dirty_stats = [
            r
            for r in connection.execute(
                text(
                    "SELECT signature, problem, "
                    + ", ".join(f"{v}, {v}_snap" for v in STATS_VALUES)
                    + " FROM gc_problem_stats WHERE "
                    + " OR ".join(f"{v} <> {v}_snap" for v in STATS_VALUES)
                )
            ).all()
            if bytes(r[0]) in pushed or r.fitness_count_snap or r.evolvability_count_snap
        ]
        dirty_pgc = [
            r
            for r in connection.execute(
                text(
                    "SELECT signature, layer, "
                    + ", ".join(f"{v}, {v}_snap" for v in PGC_VALUES)
                    + " FROM pgc_stats WHERE "
                    + " OR ".join(f"{v} <> {v}_snap" for v in PGC_VALUES)
                )
            ).all()
            if bytes(r[0]) in pushed or r.fitness_count_snap or r.evolvability_count_snap
        ]
        if not closure and not dirty_stats and not dirty_pgc:
            return None
        batch = {
            "seq": seq,
            "signatures": [s.hex() for s in closure],
            WIRE_UNITS: True,
            "stats": [
                [
                    bytes(r[0]).hex(),
                    bytes(r[1]).hex(),
                    *(wire_delta(v, getattr(r, v), getattr(r, v + "_snap")) for v in STATS_VALUES),
                ]
                for r in dirty_stats
            ],
            "pgc_stats": [
                [
                    bytes(r[0]).hex(),
                    int(r[1]),
                    *(wire_delta(v, getattr(r, v), getattr(r, v + "_snap")) for v in PGC_VALUES),
                ]
                for r in dirty_pgc
            ],
        }
        # The snapshots become the values read (not the current ones): later local additions stay deltas.
        local.bulk_update(
            connection,
            "gc_problem_stats",
            ("signature", "problem"),
            {f"{v}_snap": v for v in STATS_VALUES},
            [(bytes(r[0]), bytes(r[1]), *(getattr(r, v) for v in STATS_VALUES)) for r in dirty_stats],
        )
        local.bulk_update(
            connection,
            "pgc_stats",
            ("signature", "layer"),
            {f"{v}_snap": v for v in PGC_VALUES},
            [(bytes(r[0]), int(r[1]), *(getattr(r, v) for v in PGC_VALUES)) for r in dirty_pgc],
        )
        connection.execute(
            text("UPDATE sync_state SET pending = :pending WHERE peer = :peer"),
            {"pending": json.dumps(batch), "peer": peer},
        )
        return batch


def _apply_push(
    local: SQLGenePool, upstream: SQLGenePool, batch: dict[str, Any], source: UUID, report: SyncReport
) -> int:
    """Apply a pending batch to the upstream in one transaction, unless that batch was applied already;
    returns the GCs it added upstream (added to `report` with the rest of what it did)."""
    signatures = [bytes.fromhex(s) for s in batch["signatures"]]
    downstream = f"downstream:{source}"
    source_name = f"push from {source}"
    with upstream.transaction() as connection:
        connection.execute(
            text("INSERT INTO sync_state (peer) VALUES (:peer) ON CONFLICT (peer) DO NOTHING"),
            {"peer": downstream},
        )
        lock = " FOR UPDATE" if upstream.postgres else ""
        applied = int(
            connection.execute(
                text(f"SELECT applied_seq FROM sync_state WHERE peer = :peer{lock}"), {"peer": downstream}
            ).scalar_one()
        )
        if applied >= batch["seq"]:
            report.already_applied = True
            return 0
        # Only what the upstream lacks is read, sent and validated.
        present = upstream.present(connection, "genetic_codes", signatures)
        with local.engine.connect() as local_connection:
            rows = local.rows_by_signature([s for s in signatures if s not in present], local_connection)
        valid, rejected = admit(upstream, connection, rows, source_name)
        landed = upstream.put(connection, valid)
        quarantine(upstream, connection, rejected, source_name)
        bad = {sig for sig, _, _ in rejected}
        units, postgres = bool(batch.get(WIRE_UNITS)), upstream.postgres
        stats = sorted(
            (
                bytes.fromhex(r[0]),
                bytes.fromhex(r[1]),
                *(bind_wire(v, x, postgres, units) for v, x in zip(STATS_VALUES, r[2:], strict=True)),
            )
            for r in batch["stats"]
            if bytes.fromhex(r[0]) not in bad
        )
        for problem in sorted({r[1] for r in stats}):
            connection.execute(
                text(
                    "INSERT INTO problems (identity, created) VALUES (:p, :t)"
                    " ON CONFLICT (identity) DO NOTHING"
                ),
                {"p": problem, "t": upstream.now()},
            )
        columns = ("signature", "problem", *STATS_VALUES)
        upstream.bulk_upsert(
            connection, "gc_problem_stats", columns, stats, "signature, problem", PUSH_STATS_CONFLICT
        )
        pgc = sorted(
            (
                bytes.fromhex(r[0]),
                int(r[1]),
                *(bind_wire(v, x, postgres, units) for v, x in zip(PGC_VALUES, r[2:], strict=True)),
            )
            for r in batch["pgc_stats"]
            if bytes.fromhex(r[0]) not in bad
        )
        upstream.bulk_upsert(
            connection,
            "pgc_stats",
            ("signature", "layer", *PGC_VALUES),
            pgc,
            "signature, layer",
            PUSH_PGC_CONFLICT,
        )
        connection.execute(
            text(
                "UPDATE sync_state SET applied_seq = :seq, last_push = :now, pushed_gcs = pushed_gcs + :n"
                " WHERE peer = :peer"
            ),
            {"seq": batch["seq"], "now": upstream.now(), "n": landed, "peer": downstream},
        )
    # Counted only once the upstream transaction committed (a promote may send two batches).
    report.gcs_sent += len(rows)
    report.gcs_new += landed
    report.quarantined += len(rejected)
    report.reasons += [reason for _, _, reason in rejected[: max(0, 10 - len(report.reasons))]]
    report.stats_rows += len(stats)
    report.pgc_stats_rows += len(pgc)
    return landed


def _finish_push(local: SQLGenePool, peer: str, batch: dict[str, Any], gcs_new: int) -> None:
    """Forget the applied pending batch and count it, in the local database."""
    with local.transaction() as connection:
        connection.execute(
            text(
                "UPDATE sync_state SET pending = NULL, push_seq = :seq, last_push = :now,"
                " pushed_gcs = pushed_gcs + :n WHERE peer = :peer"
            ),
            {"seq": batch["seq"], "now": local.now(), "n": gcs_new, "peer": peer},
        )


def pending_batch(local: SQLGenePool, peer: str) -> dict[str, Any] | None:
    """The batch prepared for `peer` but not yet known to be applied there, if any."""
    with local.engine.connect() as connection:
        row = connection.execute(
            text("SELECT pending FROM sync_state WHERE peer = :peer"), {"peer": peer}
        ).first()
    return json.loads(row[0]) if row is not None and row[0] else None


def push_locked(local: SQLGenePool, upstream: SQLGenePool, settings: Settings, report: SyncReport) -> None:
    """Re-send any pending batch, then prepare and send a new one (the caller holds the sync lock).

    The new batch is sent whether or not the pending one had landed before a crash: a promote always leaves
    nothing behind that had changed when it started (a promote run once after everything stopped, as the
    chaos soak's and the federation's last one, must send every delta, not only a crashed push's batch).
    """
    peer = peer_name(upstream.url)
    source = database_uuid(local.url)
    pending = pending_batch(local, peer)
    if pending is not None:
        report.batch = pending["seq"]
        _finish_push(local, peer, pending, _apply_push(local, upstream, pending, source, report))
    batch = _prepare_push(local, peer, settings)
    if batch is None:
        return
    report.batch = batch["seq"]
    _finish_push(local, peer, batch, _apply_push(local, upstream, batch, source, report))


def promote(local_url: str, settings: Settings, upstream_url: str | None = None) -> SyncReport:
    """Push GCs passing the promotion thresholds (with their closure) and all statistic deltas upstream."""
    upstream_url = upstream_url or upstream_of(settings)
    report = SyncReport("promote", display_url(upstream_url))
    with advisory_lock(local_url, "sync") as got:
        if not got:
            report.skipped = "another promote or pull holds the lock"
            return report
        push_locked(SQLGenePool(local_url), open_upstream(upstream_url), settings, report)
    return report


__all__ = ["pending_batch", "promote", "push_locked"]
