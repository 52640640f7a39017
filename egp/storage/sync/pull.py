"""Pull: fetch the upstream's best GCs for the local problems, its codons and its best pGCs, each with its
closure and statistics, merged by the delta rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from egp.config import Settings, display_url
from egp.storage.exact_stats import check_count
from egp.storage.locks import advisory_lock
from egp.storage.sql_pool import SQLGenePool
from egp.storage.sync.admission import admit, quarantine, raw_of, reason_of
from egp.storage.sync.delta import PGC_VALUES, STATS_VALUES, exact_copy, pull_conflict
from egp.storage.sync.peers import SyncReport, open_upstream, peer_name, upstream_of
from egp.storage.sync.push import pending_batch, push_locked


def pull(local_url: str, settings: Settings, upstream_url: str | None = None) -> SyncReport:
    """Fetch the upstream's best GCs for local problems, its codons and best pGCs, each with its closure."""
    upstream_url = upstream_url or upstream_of(settings)
    report = SyncReport("pull", display_url(upstream_url))
    with advisory_lock(local_url, "sync") as got:
        if not got:
            report.skipped = "another promote or pull holds the lock"
            return report
        local = SQLGenePool(local_url)
        upstream = open_upstream(upstream_url)
        peer = peer_name(upstream.url)
        if pending_batch(local, peer) is not None:
            # A pull must not see the upstream without our unapplied deltas: flush them first.
            push_locked(local, upstream, settings, SyncReport("promote", report.upstream))
        _pull_locked(local, upstream, settings, report)
    return report


def _wanted(local: SQLGenePool, upstream: SQLGenePool, settings: Settings) -> tuple[list[bytes], list[bytes]]:
    """The local problems, and the upstream signatures to pull (best per problem, best pGCs, codons)."""
    with local.engine.connect() as connection:
        problems = sorted(
            bytes(r[0])
            for r in connection.execute(
                text("SELECT identity FROM problems UNION SELECT DISTINCT problem FROM gc_problem_stats")
            )
        )
    wanted: set[bytes] = set()
    with upstream.engine.connect() as connection:
        for problem in problems:
            wanted.update(
                bytes(r[0])
                for r in connection.execute(
                    text(
                        "SELECT signature FROM gc_problem_stats WHERE problem = :p"
                        " ORDER BY fitness DESC, signature LIMIT :n"
                    ),
                    {"p": problem, "n": settings.pull_best_per_problem},
                )
            )
        layers = [int(r[0]) for r in connection.execute(text("SELECT DISTINCT layer FROM pgc_stats"))]
        for layer in layers:
            wanted.update(
                bytes(r[0])
                for r in connection.execute(
                    text(
                        "SELECT signature FROM pgc_stats WHERE layer = :l"
                        " ORDER BY fitness DESC, signature LIMIT :n"
                    ),
                    {"l": layer, "n": settings.pull_best_pgcs_per_layer},
                )
            )
        wanted.update(
            bytes(r[0])
            for r in connection.execute(
                text("SELECT signature FROM genetic_codes WHERE codon_inline IS NOT NULL")
            )
        )
    return problems, sorted(wanted)


def _pull_locked(local: SQLGenePool, upstream: SQLGenePool, settings: Settings, report: SyncReport) -> None:
    """Admit the wanted upstream GCs into `local` and merge their statistics (the caller holds the lock)."""
    problems, wanted = _wanted(local, upstream, settings)
    rows = upstream.closure_rows(wanted)
    source = f"pull from {display_url(upstream.url)}"
    signatures = [bytes(r["signature"]) for r in rows]
    with upstream.engine.connect() as connection:
        stats: list[Any] = []
        pgc: list[Any] = []
        for chunk in upstream.chunks(signatures):
            condition, params = upstream.in_condition("signature", chunk)
            if problems:
                pcond, pparams = upstream.in_condition("problem", problems, "p")
                stats += connection.execute(
                    text(
                        f"SELECT signature, problem, {', '.join(STATS_VALUES)} FROM gc_problem_stats"
                        f" WHERE {condition} AND {pcond}"
                    ),
                    params | pparams,
                ).all()
            pgc += connection.execute(
                text(f"SELECT signature, layer, {', '.join(PGC_VALUES)} FROM pgc_stats WHERE {condition}"),
                params,
            ).all()
    with local.transaction() as connection:
        valid, rejected = admit(local, connection, rows, source)
        report.gcs_sent = len(rows)
        report.gcs_new = local.put(connection, valid)
        report.quarantined = len(rejected)
        report.reasons = [reason for _, _, reason in rejected[:10]]
        quarantine(local, connection, rejected, source)
        bad = {sig for sig, _, _ in rejected if sig is not None}
        # Snapshot on arrival: V = V + (V_up - V_snap), V_snap = V_up. Each upstream value is checked first
        # (finite, in range, exact): a hostile statistics row is quarantined, never merged.
        stat_rows, stat_rejects = _checked(stats, STATS_VALUES, bad, local.postgres, source, "problem")
        pgc_rows, pgc_rejects = _checked(pgc, PGC_VALUES, bad, local.postgres, source, "layer")
        quarantine(local, connection, stat_rejects + pgc_rejects, source)
        report.quarantined += len(stat_rejects) + len(pgc_rejects)
        report.reasons += [
            reason for _, _, reason in (stat_rejects + pgc_rejects)[: max(0, 10 - len(report.reasons))]
        ]
        columns = ("signature", "problem", *(c for v in STATS_VALUES for c in (v, v + "_snap")))
        local.bulk_upsert(
            connection,
            "gc_problem_stats",
            columns,
            stat_rows,
            "signature, problem",
            pull_conflict("gc_problem_stats", "signature, problem", STATS_VALUES),
        )
        pcolumns = ("signature", "layer", *(c for v in PGC_VALUES for c in (v, v + "_snap")))
        local.bulk_upsert(
            connection,
            "pgc_stats",
            pcolumns,
            pgc_rows,
            "signature, layer",
            pull_conflict("pgc_stats", "signature, layer", PGC_VALUES),
        )
        report.stats_rows, report.pgc_stats_rows = len(stat_rows), len(pgc_rows)
        peer = peer_name(upstream.url)
        connection.execute(
            text("INSERT INTO sync_state (peer) VALUES (:peer) ON CONFLICT (peer) DO NOTHING"), {"peer": peer}
        )
        connection.execute(
            text("UPDATE sync_state SET last_pull = :now, pulled_gcs = pulled_gcs + :n WHERE peer = :peer"),
            {"now": local.now(), "n": report.gcs_new, "peer": peer},
        )


def _checked(
    rows: list[Any], values: tuple[str, ...], bad: set[bytes], postgres: bool, source: str, key: str
) -> tuple[list[tuple[Any, ...]], list[tuple[bytes | None, str, str]]]:
    """Upstream statistics rows (signature, key, *values) as staged rows (each value twice: V and V_snap),
    sorted; rows of rejected GCs dropped, rows with a bad value returned as quarantine entries."""
    staged: list[tuple[Any, ...]] = []
    rejected: list[tuple[bytes | None, str, str]] = []
    for r in rows:
        signature = bytes(r[0])
        if signature in bad:
            continue
        try:
            if key == "problem":
                second: Any = bytes(r[1])
            else:
                second = check_count(r[1])
            checked = [exact_copy(v, x, postgres) for v, x in zip(values, r[2:], strict=True)]
        except (ValueError, TypeError) as error:
            raw = raw_of(dict(zip(("signature", key, *values), r, strict=True)))
            rejected.append(
                (signature, raw, f"{source}: statistics of {signature.hex()}: {reason_of(error)}")
            )
            continue
        staged.append((signature, second, *(x for value in checked for x in (value, value))))
    return sorted(staged, key=lambda row: (row[0], row[1])), rejected


__all__ = ["pull"]
