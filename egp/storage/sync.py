"""What a DB manager does with its database: prepare it, promote to and pull from its upstream library,
archive cold GCs and watch for stalled jobs. Plain functions; the Celery tasks in dbmanager/ only call them.

Statistics merge by the delta rule (architecture principle 6). Every mergeable value V (totals, counts,
survivability, descendants) has a snapshot V_snap of what was last exchanged with the upstream:

- push adds the local delta V - V_snap to the upstream row and sets V_snap to the value pushed;
- pull sets V to V + (V_up - V_snap) and V_snap to V_up.

With totals and counts this is exactly `C_new = C + C_up - C_snap` and
`V_new = (V·C + V_up·C_up - V_snap·C_snap) / C_new` for the means. Pushes are commutative (additions) and
idempotent: a push is first written locally as a numbered pending batch together with the new snapshots (one
transaction), then applied upstream in one transaction that also records the batch number for this
downstream database, so a batch re-sent after a crash is recognised and skipped.

Every GC that arrives from another database is validated with `from_json` (canonical graph, known codons,
sub-GCs present with matching interfaces, recomputed signature); runtime literal codons are re-created from
their literal. A failure is written to `quarantine` with its reason and the rest of the batch still lands.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from egp.config import DatabaseRole, Settings, display_url, normalise_database_url
from egp.db import get_engine
from egp.errors import EGPError, one_line
from egp.genetic_code.codons import codon_registry, shipped_codon_files
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import GCValidationError, graph_from_json
from egp.genetic_code.serialization import from_json
from egp.genetic_code.signature import parse_signature
from egp.migrations import current, upgrade
from egp.storage.sql_pool import (
    GC_COLUMNS,
    SchemaNotAtHeadError,
    SQLGenePool,
    check_schema,
    gc_from_row,
    gc_json_from_row,
    lock_key,
    runtime_literal_codon,
)

# Push: every mergeable value is added (survivability too: its delta since the last exchange).
PUSH_STATS_CONFLICT = "ON CONFLICT (signature, problem) DO UPDATE SET " + ", ".join(
    f"{c} = gc_problem_stats.{c} + excluded.{c}"
    for c in (
        "fitness_total",
        "fitness_count",
        "evolvability_total",
        "evolvability_count",
        "survivability",
        "descendants",
    )
)
PUSH_PGC_CONFLICT = "ON CONFLICT (signature, layer) DO UPDATE SET " + ", ".join(
    f"{c} = pgc_stats.{c} + excluded.{c}"
    for c in ("fitness_total", "fitness_count", "evolvability_total", "evolvability_count")
)
STATS_VALUES = (
    "fitness_total",
    "fitness_count",
    "evolvability_total",
    "evolvability_count",
    "survivability",
    "descendants",
)
PGC_VALUES = ("fitness_total", "fitness_count", "evolvability_total", "evolvability_count")


def _pull_conflict(table: str, key: str, values: Sequence[str]) -> str:
    """ON CONFLICT clause of a pull: V = V + (V_up - V_snap), V_snap = V_up (staged as both columns)."""
    sets = [
        f"{v} = {table}.{v} + excluded.{v} - {table}.{v}_snap, {v}_snap = excluded.{v}_snap" for v in values
    ]
    return f"ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(sets)


class SyncError(EGPError):
    """A promote or pull cannot run (no upstream configured, upstream not at head, unreachable)."""


@dataclass
class SyncReport:
    """What one promote or pull did."""

    direction: str
    upstream: str
    skipped: str | None = None
    batch: int | None = None
    gcs_sent: int = 0
    gcs_new: int = 0
    stats_rows: int = 0
    pgc_stats_rows: int = 0
    quarantined: int = 0
    already_applied: bool = False
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


# ---------------------------------------------------------------------------------------------- locking


@contextmanager
def advisory_lock(url: str, name: str) -> Iterator[bool]:
    """Try to take the named DB-manager lock on `url` (Postgres advisory lock; SQLite: always granted)."""
    engine = get_engine(url)
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = lock_key(name)
    with engine.connect() as connection:
        got = bool(connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one())
        connection.commit()
        try:
            yield got
        finally:
            if got:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                connection.commit()


# ---------------------------------------------------------------------------------------------- start


def database_uuid(url: str) -> UUID:
    """The database's identity from its meta row."""
    info = current(url)
    if info.database_uuid is None:
        raise SchemaNotAtHeadError(f"{display_url(url)} has no meta row; run `egp db upgrade --url ...`")
    return info.database_uuid


def prepare_database(url: str, settings: Settings, role: DatabaseRole | None = None) -> dict[str, Any]:
    """Bring the database to head (or refuse, naming `egp db upgrade`), then seed the shipped codons."""
    url = normalise_database_url(url)
    info = current(url)
    upgraded = False
    if not info.at_head:
        if not settings.dbmanager_auto_upgrade:
            raise SchemaNotAtHeadError(
                f"{display_url(url)} is at schema revision {info.revision or 'none'}, not {info.head};"
                f" run `egp db upgrade --url {display_url(url)}`"
            )
        upgrade(url, role or settings.database_role, settings.creator)
        upgraded = True
    seeded = seed_codons(url, settings.creator)
    return {"url": display_url(url), "upgraded": upgraded, "codons_added": seeded}


def seed_codons(url: str, creator: UUID) -> int:
    """Store the shipped codons not stored yet and record each codon file in `sources`; returns how many."""
    pool = SQLGenePool(url)
    added = pool.put_many(list(codon_registry()))
    files = shipped_codon_files()
    with pool.transaction() as connection:
        for family in sorted(files):
            digest = hashlib.sha256(files[family].encode()).hexdigest()
            connection.execute(
                text(
                    "INSERT INTO sources (path, file_hash, creator, loaded)"
                    " VALUES (:path, :hash, :creator, :now)"
                    " ON CONFLICT (path, file_hash) DO NOTHING"
                ),
                {
                    "path": f"egp/genetic_code/data/codons/{family}.json",
                    "hash": digest,
                    "creator": creator if pool.postgres else creator.hex,
                    "now": pool.now(),
                },
            )
    return added


# ---------------------------------------------------------------------------------------------- validation


def validate_incoming(obj: dict[str, Any], store: Mapping[bytes, GeneticCode]) -> GeneticCode:
    """Validate a GC's JSON from another database: from_json, or (for a runtime literal codon) its rebuild."""
    codon = obj.get("codon")
    signature = obj.get("signature")
    if isinstance(codon, dict) and isinstance(signature, str):
        claimed = parse_signature(signature)
        if claimed not in codon_registry():
            created = datetime.fromisoformat(str(obj["created"]))
            return runtime_literal_codon(
                str(codon.get("name")),
                str(codon.get("inline")),
                str(codon.get("description") or ""),
                graph_from_json(obj["graph"]).outputs,
                int(obj["properties"]),
                parse_signature(obj["pgc"]) if obj.get("pgc") else None,
                UUID(str(obj["creator"])),
                created,
                claimed,
            )
    return from_json(obj, store)


def _shipped(signature: bytes) -> bool:
    """True for a codon shipped with EGP (not one registered at run time)."""
    codon = codon_registry().get(signature)
    return codon is not None and codon.pgc is None


def _quarantine(
    pool: SQLGenePool, connection: Connection, rejected: list[tuple[bytes | None, str, str]], source: str
) -> None:
    """Write rejected GCs (signature, raw JSON, reason) to `quarantine`."""
    if not rejected:
        return
    connection.execute(
        text(
            "INSERT INTO quarantine (signature, raw, reason, source_url, received)"
            " VALUES (:signature, :raw, :reason, :source, :now)"
        ),
        [
            {"signature": sig, "raw": raw, "reason": reason, "source": source, "now": pool.now()}
            for sig, raw, reason in rejected
        ],
    )


def _admit(
    target: SQLGenePool,
    connection: Connection,
    rows: Sequence[Mapping[Any, Any]],
    source: str,
) -> tuple[list[GeneticCode], list[tuple[bytes | None, str, str]]]:
    """Validate the rows (sub-GCs first) not yet stored in `target`; return the valid GCs and the rejects."""
    signatures = [bytes(r["signature"]) for r in rows]
    present = target._present(connection, "genetic_codes", signatures)
    store: dict[bytes, GeneticCode] = {}
    # Sub-GCs the target already holds (present rows, or referenced from outside the batch) are trusted.
    own = set(signatures)
    refs = {bytes(r[k]) for r in rows for k in ("gca", "gcb") if r[k] is not None}
    need = (refs - own) | (refs & present)
    if need:
        store.update(target._load(connection, sorted(need)))
    valid: list[GeneticCode] = []
    rejected: list[tuple[bytes | None, str, str]] = []
    for row in rows:
        signature = bytes(row["signature"])
        if signature in present:
            continue
        obj = gc_json_from_row(row)
        try:
            for key in ("gca", "gcb"):
                ref = row[key]
                # A sub-GC must arrive valid in this batch, be held already, or be a shipped codon: a runtime
                # codon this process happens to know is not enough, the database must hold its row.
                if ref is not None and bytes(ref) not in store and not _shipped(bytes(ref)):
                    raise GCValidationError(
                        f"{key} {bytes(ref).hex()} is neither held nor valid in this batch"
                    )
            gc = validate_incoming(obj, store)
        except (EGPError, ValueError, KeyError, TypeError, AttributeError, IndexError) as error:
            rejected.append((signature, json.dumps(obj, sort_keys=True), f"{source}: {one_line(error)}"))
            continue
        store[gc.signature] = gc
        valid.append(gc)
    return valid, rejected


# ---------------------------------------------------------------------------------------------- promote


def upstream_of(settings: Settings) -> str:
    """The upstream library of this database: the first of EGP_LIBRARY_URLS."""
    if not settings.library_urls:
        raise SyncError("no upstream library: set EGP_LIBRARY_URLS to a JSON list of database URLs")
    return settings.library_urls[0]


def _peer(url: str) -> str:
    return "upstream:" + display_url(normalise_database_url(url))


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
            "stats": [
                [
                    bytes(r[0]).hex(),
                    bytes(r[1]).hex(),
                    *(getattr(r, v) - getattr(r, v + "_snap") for v in STATS_VALUES),
                ]
                for r in dirty_stats
            ],
            "pgc_stats": [
                [bytes(r[0]).hex(), int(r[1]), *(getattr(r, v) - getattr(r, v + "_snap") for v in PGC_VALUES)]
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
) -> None:
    """Apply a pending batch to the upstream in one transaction, unless that batch was applied already."""
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
            return
        # Only what the upstream lacks is read, sent and validated.
        present = upstream._present(connection, "genetic_codes", signatures)
        with local.engine.connect() as local_connection:
            rows = local.rows_by_signature([s for s in signatures if s not in present], local_connection)
        valid, rejected = _admit(upstream, connection, rows, source_name)
        report.gcs_sent = len(rows)
        report.gcs_new = upstream._put(connection, valid)
        report.quarantined = len(rejected)
        report.reasons = [reason for _, _, reason in rejected[:10]]
        _quarantine(upstream, connection, rejected, source_name)
        bad = {sig for sig, _, _ in rejected}
        stats = sorted(
            (bytes.fromhex(r[0]), bytes.fromhex(r[1]), *r[2:])
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
        upstream._bulk_upsert(
            connection, "gc_problem_stats", columns, stats, "signature, problem", PUSH_STATS_CONFLICT
        )
        pgc = sorted(
            (bytes.fromhex(r[0]), *r[1:]) for r in batch["pgc_stats"] if bytes.fromhex(r[0]) not in bad
        )
        upstream._bulk_upsert(
            connection,
            "pgc_stats",
            ("signature", "layer", *PGC_VALUES),
            pgc,
            "signature, layer",
            PUSH_PGC_CONFLICT,
        )
        report.stats_rows, report.pgc_stats_rows = len(stats), len(pgc)
        connection.execute(
            text(
                "UPDATE sync_state SET applied_seq = :seq, last_push = :now, pushed_gcs = pushed_gcs + :n"
                " WHERE peer = :peer"
            ),
            {"seq": batch["seq"], "now": upstream.now(), "n": report.gcs_new, "peer": downstream},
        )


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


def _pending(local: SQLGenePool, peer: str) -> dict[str, Any] | None:
    with local.engine.connect() as connection:
        row = connection.execute(
            text("SELECT pending FROM sync_state WHERE peer = :peer"), {"peer": peer}
        ).first()
    return json.loads(row[0]) if row is not None and row[0] else None


def _push_locked(local: SQLGenePool, upstream: SQLGenePool, settings: Settings, report: SyncReport) -> None:
    """Re-send any pending batch, then prepare and send a new one (the caller holds the sync lock)."""
    peer = _peer(upstream.url)
    source = database_uuid(local.url)
    for _ in range(2):
        batch = _pending(local, peer) or _prepare_push(local, peer, settings)
        if batch is None:
            return
        report.batch = batch["seq"]
        _apply_push(local, upstream, batch, source, report)
        _finish_push(local, peer, batch, report.gcs_new)
        if not report.already_applied:
            return
        # That batch had landed before a crash; now send what has accumulated since.
        report.already_applied = False


def _open_upstream(url: str) -> SQLGenePool:
    """The upstream library as a pool; SchemaNotAtHeadError or a one-line SyncError if it is unusable."""
    try:
        check_schema(url)
    except SchemaNotAtHeadError:
        raise
    except Exception as error:  # a driver or URL error becomes one line naming the upstream
        raise SyncError(f"upstream {display_url(url)}: {one_line(error)}") from None
    return SQLGenePool(url)


def promote(local_url: str, settings: Settings, upstream_url: str | None = None) -> SyncReport:
    """Push GCs passing the promotion thresholds (with their closure) and all statistic deltas upstream."""
    upstream_url = upstream_url or upstream_of(settings)
    report = SyncReport("promote", display_url(upstream_url))
    with advisory_lock(local_url, "sync") as got:
        if not got:
            report.skipped = "another promote or pull holds the lock"
            return report
        _push_locked(SQLGenePool(local_url), _open_upstream(upstream_url), settings, report)
    return report


# ---------------------------------------------------------------------------------------------- pull


def pull(local_url: str, settings: Settings, upstream_url: str | None = None) -> SyncReport:
    """Fetch the upstream's best GCs for local problems, its codons and best pGCs, each with its closure."""
    upstream_url = upstream_url or upstream_of(settings)
    report = SyncReport("pull", display_url(upstream_url))
    with advisory_lock(local_url, "sync") as got:
        if not got:
            report.skipped = "another promote or pull holds the lock"
            return report
        local = SQLGenePool(local_url)
        upstream = _open_upstream(upstream_url)
        peer = _peer(upstream.url)
        if _pending(local, peer) is not None:
            # A pull must not see the upstream without our unapplied deltas: flush them first.
            _push_locked(local, upstream, settings, SyncReport("promote", report.upstream))
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
    problems, wanted = _wanted(local, upstream, settings)
    rows = upstream.closure_rows(wanted)
    source = f"pull from {display_url(upstream.url)}"
    signatures = [bytes(r["signature"]) for r in rows]
    with upstream.engine.connect() as connection:
        stats: list[Any] = []
        pgc: list[Any] = []
        for chunk in upstream._chunks(signatures):
            condition, params = upstream._in("signature", chunk)
            if problems:
                pcond, pparams = upstream._in("problem", problems, "p")
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
        valid, rejected = _admit(local, connection, rows, source)
        report.gcs_sent = len(rows)
        report.gcs_new = local._put(connection, valid)
        report.quarantined = len(rejected)
        report.reasons = [reason for _, _, reason in rejected[:10]]
        _quarantine(local, connection, rejected, source)
        bad = {sig for sig, _, _ in rejected}
        # Snapshot on arrival: V = V + (V_up - V_snap), V_snap = V_up.
        stat_rows = sorted(
            (bytes(r[0]), bytes(r[1]), *(v for x in r[2:] for v in (x, x)))
            for r in stats
            if bytes(r[0]) not in bad
        )
        columns = ("signature", "problem", *(c for v in STATS_VALUES for c in (v, v + "_snap")))
        local._bulk_upsert(
            connection,
            "gc_problem_stats",
            columns,
            stat_rows,
            "signature, problem",
            _pull_conflict("gc_problem_stats", "signature, problem", STATS_VALUES),
        )
        pgc_rows = sorted(
            (bytes(r[0]), int(r[1]), *(v for x in r[2:] for v in (x, x)))
            for r in pgc
            if bytes(r[0]) not in bad
        )
        pcolumns = ("signature", "layer", *(c for v in PGC_VALUES for c in (v, v + "_snap")))
        local._bulk_upsert(
            connection,
            "pgc_stats",
            pcolumns,
            pgc_rows,
            "signature, layer",
            _pull_conflict("pgc_stats", "signature, layer", PGC_VALUES),
        )
        report.stats_rows, report.pgc_stats_rows = len(stat_rows), len(pgc_rows)
        peer = _peer(upstream.url)
        connection.execute(
            text("INSERT INTO sync_state (peer) VALUES (:peer) ON CONFLICT (peer) DO NOTHING"), {"peer": peer}
        )
        connection.execute(
            text("UPDATE sync_state SET last_pull = :now, pulled_gcs = pulled_gcs + :n WHERE peer = :peer"),
            {"now": local.now(), "n": report.gcs_new, "peer": peer},
        )


# ---------------------------------------------------------------------------------------------- archive


# Cold GCs: not codons, old, in no population, below the thresholds, and not a sub-GC of a stored GC.
_COLD = (
    "SELECT g.signature FROM genetic_codes g"
    " WHERE g.codon_inline IS NULL AND g.created < :cutoff"
    " AND NOT EXISTS (SELECT 1 FROM population_members m WHERE m.signature = g.signature)"
    " AND NOT EXISTS (SELECT 1 FROM gc_problem_stats s"
    "   WHERE s.signature = g.signature AND s.fitness >= :fitness)"
    " AND NOT EXISTS (SELECT 1 FROM pgc_stats ps"
    "   WHERE ps.signature = g.signature AND ps.fitness_count > 0)"
)
# genetic_codes has no gca/gcb index (the bulk write path is cheaper without one, revision 0004), so "not
# a sub-GC" is one pass over the table, never a lookup per GC. Postgres plans these NOT EXISTS as hash
# anti-joins (about 1 s at 10^6 GCs); SQLite has no hash join (a correlated NOT EXISTS would scan the table
# once per GC) and takes the set difference with temporary b-trees instead.
_COLD_GCS_POSTGRES = (
    _COLD + " AND NOT EXISTS (SELECT 1 FROM genetic_codes p WHERE p.gca = g.signature)"
    " AND NOT EXISTS (SELECT 1 FROM genetic_codes p WHERE p.gcb = g.signature)"
    " ORDER BY g.signature LIMIT :batch"
)
_COLD_GCS_SQLITE = (
    f"SELECT signature FROM ({_COLD}"
    " EXCEPT SELECT gca FROM genetic_codes WHERE gca IS NOT NULL"
    " EXCEPT SELECT gcb FROM genetic_codes WHERE gcb IS NOT NULL"
    ") AS cold ORDER BY signature LIMIT :batch"
)


def archive(url: str, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """Move cold GCs (in no population, no stored GC's sub-GC, below the thresholds, old) to `archive`."""
    pool = SQLGenePool(url)
    with advisory_lock(url, "archive") as got:
        if not got:
            return {"skipped": "another archive run holds the lock", "archived": 0}
        moment = now or datetime.now(UTC)
        cutoff = moment - timedelta(seconds=settings.archive_min_age_s)
        with pool.transaction() as connection:
            candidates = [
                bytes(r[0])
                for r in connection.execute(
                    text(_COLD_GCS_POSTGRES if pool.postgres else _COLD_GCS_SQLITE),
                    {
                        "cutoff": cutoff if pool.postgres else _sqlite_time(cutoff),
                        "fitness": settings.archive_max_fitness,
                        "batch": settings.archive_batch,
                    },
                )
            ]
            names = ", ".join(GC_COLUMNS)
            for chunk in pool._chunks(candidates):
                condition, params = pool._in("signature", chunk)
                connection.execute(
                    text(
                        f"INSERT INTO archive ({names}, retired) SELECT {names}, :retired FROM genetic_codes"
                        f" WHERE {condition} ON CONFLICT (signature) DO NOTHING"
                    ),
                    params | {"retired": moment if pool.postgres else _sqlite_time(moment)},
                )
                connection.execute(text(f"DELETE FROM genetic_codes WHERE {condition}"), params)
    pool.close()
    return {"archived": len(candidates)}


def _sqlite_time(moment: datetime) -> str:
    from egp.storage.sql_pool import sqlite_timestamp

    return sqlite_timestamp(moment)


def lookup_with_archive(url: str, signatures: Sequence[bytes]) -> dict[bytes, tuple[GeneticCode, bool]]:
    """GCs by signature from the live table or the archive (True when archived): lineage stays readable."""
    pool = SQLGenePool(url)
    found = {s: (gc, False) for s, gc in pool.get_many(signatures).items()}
    missing = [s for s in signatures if s not in found]
    if missing:
        with pool.engine.connect() as connection:
            for chunk in pool._chunks(missing):
                condition, params = pool._in("signature", chunk)
                for row in connection.execute(
                    text(f"SELECT {', '.join(GC_COLUMNS)} FROM archive WHERE {condition}"), params
                ).mappings():
                    gc = gc_from_row(row)
                    found[gc.signature] = (gc, True)
    return found


# ---------------------------------------------------------------------------------------------- watchdog


def stalled_jobs(url: str, now: datetime | None = None) -> list[dict[str, Any]]:
    """Running jobs whose epoch ledger (or, before any epoch, job row) has not advanced within the lease."""
    pool = SQLGenePool(url)
    moment = now or datetime.now(UTC)
    with advisory_lock(url, "watchdog") as got:
        if not got:
            return []
        with pool.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT j.id, j.lease_s, j.updated, max(e.committed), max(e.epoch)"
                    " FROM jobs j LEFT JOIN epochs e ON e.job = j.id"
                    " WHERE j.status = 'running' GROUP BY j.id, j.lease_s, j.updated ORDER BY j.id"
                )
            ).all()
    stalled = []
    for job, lease_s, updated, committed, epoch in rows:
        last = max(_utc(t) for t in (updated, committed) if t is not None)
        if (moment - last).total_seconds() > lease_s:
            stalled.append(
                {"job": job, "last_epoch": epoch, "last_activity": last.isoformat(), "lease_s": int(lease_s)}
            )
    return stalled


def _utc(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


__all__ = [
    "SyncError",
    "SyncReport",
    "advisory_lock",
    "archive",
    "lookup_with_archive",
    "prepare_database",
    "promote",
    "pull",
    "seed_codons",
    "stalled_jobs",
    "upstream_of",
    "validate_incoming",
]
