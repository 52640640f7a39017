"""The SQL Gene Pool: the engine's GenePool on Postgres (psycopg 3) or SQLite, with bulk write paths.

Writes are bulk and additive. On Postgres the keys of a batch already stored are looked up first (one
index probe per key, parameters sent binary), the new rows go by one binary COPY straight into the table under
a savepoint, and the stored ones are merged through a per-connection staging table and one
`INSERT … SELECT … ORDER BY key ON CONFLICT …` (also the fallback when a concurrent writer stored a row
between the lookup and the COPY). SQLite uses one `executemany` of the same upsert. Statistics are deltas
added inside the statement (`total = total + excluded.total`), never read and written back from Python,
and every batch is sorted by its key so concurrent writers lock rows in the same order and cannot deadlock.

Reads rebuild exact `GeneticCode` objects: the graph is parsed and validated from its canonical JSON and the
signature recomputed and compared, so a corrupted row is an error, never a silently different GC. GCs are
immutable, so rebuilt objects are cached by signature.

Parent selection (`select_weighted`) reads a window of the `selection_window` most survivable GCs of the
problem by an index range scan (`problem, survivability`) and draws from it with the seeded RNG: cost is
O(window), independent of the pool's size. With at most `selection_window` scored GCs the draw is exactly
MemoryGenePool's; beyond it, the least survivable tail (which carries little weight) is not drawn.
"""

from __future__ import annotations

import ast
import functools
import json
import random
import struct
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.types.string import BytesBinaryDumper
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url

from egp.config import display_url, normalise_database_url
from egp.db import get_engine, sqlite_file
from egp.engine.gene_pool import (
    EpochRecord,
    GenePool,
    MemoryGenePool,
    PgcStats,
    ProblemStats,
    finite_or_zero,
)
from egp.errors import EGPError
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode, make_codon
from egp.genetic_code.graph import GCValidationError, graph_from_text
from egp.genetic_code.properties import LITERAL
from egp.genetic_code.signature import compute_signature
from egp.genetic_code.types import TYPES

MEMORY_URL = "memory://"

# Columns of a stored GC, in the order rows are built, copied and read.
GC_COLUMNS: tuple[str, ...] = (
    "signature",
    "gca",
    "gcb",
    "ancestora",
    "ancestorb",
    "pgc",
    "creator",
    "created",
    "properties",
    "graph",
    "code_depth",
    "num_codes",
    "num_codons",
    "generation",
    "input_types",
    "output_types",
    "interface_key",
    "codon_name",
    "codon_inline",
    "codon_description",
    "job",
    "island",
    "epoch",
    "worker",
)
STATS_DELTA_COLUMNS: tuple[str, ...] = (
    "signature",
    "problem",
    "fitness_total",
    "fitness_count",
    "evolvability_total",
    "evolvability_count",
    "survivability",
    "descendants",
)
PGC_DELTA_COLUMNS: tuple[str, ...] = (
    "signature",
    "layer",
    "fitness_total",
    "fitness_count",
    "evolvability_total",
    "evolvability_count",
)

# Additive upserts: a delta is added in the statement; survivability is a latest value (ProblemStats.add).
STATS_CONFLICT = (
    "ON CONFLICT (signature, problem) DO UPDATE SET "
    "fitness_total = gc_problem_stats.fitness_total + excluded.fitness_total, "
    "fitness_count = gc_problem_stats.fitness_count + excluded.fitness_count, "
    "evolvability_total = gc_problem_stats.evolvability_total + excluded.evolvability_total, "
    "evolvability_count = gc_problem_stats.evolvability_count + excluded.evolvability_count, "
    "descendants = gc_problem_stats.descendants + excluded.descendants, "
    "survivability = CASE WHEN excluded.fitness_count <> 0 OR excluded.survivability <> 0 "
    "THEN excluded.survivability ELSE gc_problem_stats.survivability END"
)
PGC_CONFLICT = (
    "ON CONFLICT (signature, layer) DO UPDATE SET "
    "fitness_total = pgc_stats.fitness_total + excluded.fitness_total, "
    "fitness_count = pgc_stats.fitness_count + excluded.fitness_count, "
    "evolvability_total = pgc_stats.evolvability_total + excluded.evolvability_total, "
    "evolvability_count = pgc_stats.evolvability_count + excluded.evolvability_count"
)

_BOOL, _INT, _FLOAT = TYPES.uid("bool"), TYPES.uid("int"), TYPES.uid("float")
_LITERAL_TYPES: dict[int, type] = {_BOOL: bool, _INT: int, _FLOAT: float}
_SQLITE_CHUNK = 500  # bound parameters per IN (...) on SQLite
_COPY_CHUNK = 4096  # rows per COPY statement of an optimistic insert


_INT4_OID, _INT4_ARRAY_OID = 23, 1007


@functools.lru_cache(maxsize=4096)
def _int4_array_binary(values: tuple[int, ...]) -> bytes:
    """Postgres's binary form of a one-dimensional INT4[] without NULLs (cached: type sets repeat)."""
    if not values:
        return struct.pack(">iiI", 0, 0, _INT4_OID)
    cells = [field for value in values for field in (4, value)]
    return struct.pack(f">iiIii{len(cells)}i", 1, 0, _INT4_OID, len(values), 1, *cells)


class _TypeSetDumper(Dumper):
    """COPY dumper of the INT4[] type-set columns: psycopg's generic list dumper is Python code that costs
    ~7 µs a value, two values a stored GC; the few distinct type sets are encoded once and reused."""

    format = pq.Format.BINARY
    oid = _INT4_ARRAY_OID

    def dump(self, obj: Any) -> bytes:
        """The cached binary encoding of a list of type uids."""
        return _int4_array_binary(tuple(obj))


class StorageError(EGPError):
    """A Gene Pool database is unusable: wrong schema revision, corrupted row, unreachable."""


class SchemaNotAtHeadError(StorageError):
    """The database's schema is not at the newest revision."""


def interface_key(inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
    """The exact, ordered interface as bytes: input count, input uids, output count, output uids (uint16)."""
    return _interface_key(tuple(inputs), tuple(outputs))


@functools.lru_cache(maxsize=4096)
def _interface_key(inputs: tuple[int, ...], outputs: tuple[int, ...]) -> bytes:
    return struct.pack(f">H{len(inputs)}HH{len(outputs)}H", len(inputs), *inputs, len(outputs), *outputs)


@functools.lru_cache(maxsize=4096)
def _type_set(types: tuple[int, ...], postgres: bool) -> list[int] | str:
    """Sorted unique type uids: an INT[] value on Postgres, text "1,5,7" on SQLite (shared: never mutate)."""
    uids = sorted(set(types))
    return uids if postgres else ",".join(map(str, uids))


def gc_row(
    gc: GeneticCode,
    postgres: bool,
    job: str | None = None,
    island: int | None = None,
    epoch: int | None = None,
    worker: str | None = None,
) -> tuple[Any, ...]:
    """The `genetic_codes` row of a GC, in GC_COLUMNS order."""
    codon = gc.codon
    return (
        gc.signature,
        gc.gca,
        gc.gcb,
        gc.ancestora,
        gc.ancestorb,
        gc.pgc,
        gc.creator if postgres else gc.creator.hex,
        gc.created if postgres else sqlite_timestamp(gc.created),
        gc.properties,
        gc.graph.canonical_json(),
        gc.code_depth,
        gc.num_codes,
        gc.num_codons,
        gc.generation,
        _type_set(gc.inputs, postgres),
        _type_set(gc.outputs, postgres),
        interface_key(gc.inputs, gc.outputs),
        codon.name if codon else None,
        codon.inline if codon else None,
        codon.description if codon else None,
        job,
        island,
        epoch,
        worker,
    )


def sqlite_timestamp(moment: datetime) -> str:
    """A timestamp as SQLAlchemy stores DateTime on SQLite: naive UTC text with microseconds."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _as_utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    moment = cast(datetime, value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _opt_bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


def is_runtime_literal(
    name: str | None, inline: str | None, inputs: Sequence[int], outputs: Sequence[int]
) -> bool:
    """True when a codon row is a plain literal (a bool, int or float constant of its single output type)."""
    if name is None or inline is None or inputs or len(outputs) != 1 or outputs[0] not in _LITERAL_TYPES:
        return False
    try:
        value = ast.literal_eval(inline)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return type(value) is _LITERAL_TYPES[outputs[0]]


def runtime_literal_codon(
    name: str,
    inline: str,
    description: str,
    graph_outputs: Sequence[int],
    properties: int,
    pgc: bytes | None,
    creator: UUID,
    created: datetime,
    signature: bytes,
) -> GeneticCode:
    """Rebuild a runtime literal codon, check its signature, and register it; GCValidationError otherwise."""
    if not is_runtime_literal(name, inline, (), graph_outputs) or not properties & LITERAL:
        raise GCValidationError(
            f"codon {name!r} is not in the local codon registry and is not a plain literal"
        )
    # Physics makes runtime literals with the shipped literal codons' properties; nothing else is trusted.
    model = codon_registry().by_name("lit_float_1" if graph_outputs[0] == _FLOAT else "lit_int_1")
    if properties != model.properties:
        raise GCValidationError(f"codon {name!r}: properties {properties:#x} are not a runtime literal's")
    codon = make_codon(
        name,
        inline,
        (),
        tuple(graph_outputs),
        properties,
        description,
        pgc=pgc,
        creator=creator,
        created=created,
    )
    if codon.signature != signature:
        raise GCValidationError(
            f"codon {signature.hex()}: recomputed signature {codon.signature.hex()} differs"
        )
    codon_registry().add_runtime_codon(codon)
    return codon


def gc_from_row(row: Mapping[Any, Any]) -> GeneticCode:
    """Rebuild the exact GeneticCode of a `genetic_codes` row; GCValidationError if it is inconsistent."""
    signature = bytes(row["signature"])
    known = codon_registry().get(signature)
    if known is not None:
        return known
    try:
        graph = graph_from_text(row["graph"])
    except GCValidationError as error:
        raise GCValidationError(f"GC {signature.hex()}: {error}") from None
    creator = _as_uuid(row["creator"])
    created = _as_utc(row["created"])
    pgc = _opt_bytes(row["pgc"])
    if row["codon_inline"] is not None:
        return runtime_literal_codon(
            row["codon_name"],
            row["codon_inline"],
            row["codon_description"] or "",
            graph.outputs,
            int(row["properties"]),
            pgc,
            creator,
            created,
            signature,
        )
    refs = [_opt_bytes(row[key]) for key in ("ancestora", "ancestorb", "gca", "gcb")]
    computed = compute_signature(refs[0], refs[1], refs[2], refs[3], pgc, creator, graph.canonical_json())
    if computed != signature:
        raise GCValidationError(f"GC {signature.hex()}: recomputed signature {computed.hex()} differs")
    return GeneticCode(
        signature=signature,
        graph=graph,
        gca=refs[2],
        gcb=refs[3],
        ancestora=refs[0],
        ancestorb=refs[1],
        pgc=pgc,
        creator=creator,
        properties=int(row["properties"]),
        code_depth=int(row["code_depth"]),
        num_codes=int(row["num_codes"]),
        num_codons=int(row["num_codons"]),
        generation=int(row["generation"]),
        created=created,
        codon=None,
    )


def gc_json_from_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The JSON object (serialization.to_json form) of a `genetic_codes` row, for from_json validation."""

    def hexed(key: str) -> str | None:
        value = row[key]
        return None if value is None else bytes(value).hex()

    try:
        graph: Any = json.loads(row["graph"])
    except (TypeError, ValueError):
        graph = row["graph"]
    obj: dict[str, Any] = {
        "signature": hexed("signature"),
        "graph": graph,
        "gca": hexed("gca"),
        "gcb": hexed("gcb"),
        "ancestora": hexed("ancestora"),
        "ancestorb": hexed("ancestorb"),
        "pgc": hexed("pgc"),
        "creator": str(_as_uuid(row["creator"])),
        "created": _as_utc(row["created"]).isoformat(),
        "properties": int(row["properties"]),
        "code_depth": int(row["code_depth"]),
        "num_codes": int(row["num_codes"]),
        "num_codons": int(row["num_codons"]),
        "generation": int(row["generation"]),
    }
    if row["codon_inline"] is not None:
        obj["codon"] = {
            "name": row["codon_name"],
            "inline": row["codon_inline"],
            "description": row["codon_description"] or "",
        }
    return obj


def lock_key(name: str) -> int:
    """A stable 32-bit advisory-lock key for a named DB-manager job."""
    return zlib.crc32(b"egp:" + name.encode())


class SQLGenePool:
    """The Gene Pool in a Postgres or SQLite database (schema at head), implementing the GenePool protocol."""

    def __init__(self, url: str, *, selection_window: int = 1024, cache_size: int = 20_000) -> None:
        """A Gene Pool on `url`; `selection_window` bounds selection reads; `cache_size` GCs are cached."""
        self.url = normalise_database_url(url)
        self.engine: Engine = get_engine(self.url)
        self.postgres = self.engine.dialect.name == "postgresql"
        self.selection_window = selection_window
        self._cache: OrderedDict[bytes, GeneticCode] = OrderedDict()
        self._cache_size = cache_size
        # Provenance written with every GC this pool stores (the worker's name), if set.
        self.worker: str | None = None
        self._cache_lock = threading.Lock()
        self._oid_cache: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self._stage_source: dict[str, str] = {}

    # ------------------------------------------------------------------ plumbing

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection in one transaction: committed on success, rolled back on an exception."""
        with self.engine.begin() as connection:
            yield connection

    def now(self) -> datetime | str:
        """The current UTC time as this backend's bound parameter."""
        moment = datetime.now(UTC)
        return moment if self.postgres else sqlite_timestamp(moment)

    def _in(self, column: str, values: Sequence[Any], name: str = "v") -> tuple[str, dict[str, Any]]:
        """A `column IN (...)` condition and its parameters for one chunk of values."""
        if self.postgres:
            return f"{column} = ANY(:{name})", {name: list(values)}
        names = {f"{name}{k}": v for k, v in enumerate(values)}
        return f"{column} IN ({', '.join(':' + n for n in names)})", names

    def _chunks(self, values: Sequence[Any]) -> Iterator[Sequence[Any]]:
        size = 50_000 if self.postgres else _SQLITE_CHUNK
        for start in range(0, len(values), size):
            yield values[start : start + size]

    def _remember(self, gcs: Iterable[GeneticCode]) -> None:
        with self._cache_lock:
            for gc in gcs:
                self._cache[gc.signature] = gc
                self._cache.move_to_end(gc.signature)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _oids(self, cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str]) -> list[int]:
        """The type OIDs of `columns` of `table`, for binary COPY (cached per pool)."""
        key = (table, tuple(columns))
        oids = self._oid_cache.get(key)
        if oids is None:
            rows = cursor.execute(
                "SELECT attname, atttypid::int FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0",
                (table,),
            ).fetchall()
            by_name = {str(name): int(oid) for name, oid in rows}
            oids = self._oid_cache[key] = [by_name[c] for c in columns]
        return oids

    def _copy(
        self,
        cursor: psycopg.Cursor[Any],
        table: str,
        columns: Sequence[str],
        rows: Iterable[Any],
        types_of: str,
    ) -> None:
        """Binary COPY of `rows` into `table`, whose columns have the types of table `types_of`."""
        oids = self._oids(cursor, types_of, columns)
        # For this cursor only, looked up by OID in COPY: cached type sets, and psycopg's compiled bytea
        # dumper instead of the DB-API `Binary` one (Python code) that SQLAlchemy's psycopg dialect installs.
        cursor.adapters.register_dumper(None, _TypeSetDumper)
        cursor.adapters.register_dumper(None, BytesBinaryDumper)
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(oids)
            for row in rows:
                copy.write_row(row)

    def _bulk_upsert(
        self,
        connection: Connection,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        key: str,
        conflict: str,
    ) -> int:
        """Insert `rows` (sorted by `key`) with one ON CONFLICT clause; returns the rows written."""
        if not rows:
            return 0
        names = ", ".join(columns)
        if self.postgres:
            # One staging table per (table, column list) and connection, emptied at commit.
            stage = f"stage_{table}_{zlib.crc32(names.encode()):08x}"
            raw = connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                    f"SELECT {names} FROM {table} WITH NO DATA"
                )
                self._copy(cursor, stage, columns, rows, table)
                cursor.execute(
                    f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ORDER BY {key} {conflict}"
                )
                count = cursor.rowcount
                cursor.execute(f"TRUNCATE {stage}")
                return int(count)
        placeholders = ", ".join(f":{c}" for c in columns)
        statement = text(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) {conflict}")
        result = connection.execute(statement, [dict(zip(columns, row, strict=True)) for row in rows])
        return int(result.rowcount)

    def _try_copy(
        self, connection: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> bool:
        """COPY `rows` straight into `table` under a savepoint; False (nothing written) on a duplicate key."""
        if not rows:
            return True
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT egp_direct_copy")
            try:
                # Several COPY statements, so a duplicate key stops the attempt after one chunk.
                for start in range(0, len(rows), _COPY_CHUNK):
                    self._copy(cursor, table, columns, rows[start : start + _COPY_CHUNK], table)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT egp_direct_copy")
                return False
            cursor.execute("RELEASE SAVEPOINT egp_direct_copy")
        return True

    def _write(
        self,
        connection: Connection,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        key: str,
        conflict: str,
        add_to_stored: bool,
        problem: bytes | None = None,
    ) -> int:
        """Write `rows` (sorted by key, signature first): new ones inserted, stored ones merged by `conflict`
        (or skipped). `problem`: the rows are that problem's (gc_problem_stats).

        On Postgres the rows already stored are looked up first; the others go by one straight COPY, the
        fastest path (an optimistic COPY of the whole batch was tried before: in an evolving job most batches
        hold GCs made again, so it failed and was redone most of the time). If a concurrent writer stores one
        of them in between, the COPY fails on the duplicate key and they are upserted through staging instead.
        SQLite uses one executemany upsert.
        """
        if not rows:
            return 0
        if not self.postgres:
            return self._bulk_upsert(connection, table, columns, rows, key, conflict)
        known = self._present(connection, table, [r[0] for r in rows], problem)
        fresh = [r for r in rows if r[0] not in known]
        old = [r for r in rows if r[0] in known]
        if self._try_copy(connection, table, columns, fresh):
            written = len(fresh)
        else:
            written = self._bulk_upsert(connection, table, columns, fresh, key, conflict)
        if add_to_stored:
            written += self._bulk_upsert(connection, table, columns, old, key, conflict)
        return written

    def _present(
        self, connection: Connection, table: str, signatures: Sequence[bytes], problem: bytes | None = None
    ) -> set[bytes]:
        """Which of `signatures` have a row in `table` (for `problem`, when given)."""
        if self.postgres:
            raw = connection.connection.driver_connection
            assert raw is not None
            # Binary parameters: a text bytea[] of thousands of signatures costs ~20 µs each to escape.
            with raw.cursor(binary=True) as cursor:
                if problem is None:
                    cursor.execute(
                        f"SELECT signature FROM {table} WHERE signature = ANY(%b)", [list(signatures)]
                    )
                else:
                    cursor.execute(
                        f"SELECT signature FROM {table} WHERE problem = %b AND signature = ANY(%b)",
                        [problem, list(signatures)],
                    )
                return {bytes(r[0]) for r in cursor}
        found: set[bytes] = set()
        for chunk in self._chunks(signatures):
            condition, params = self._in("signature", chunk)
            if problem is not None:
                condition, params = f"problem = :problem AND {condition}", params | {"problem": problem}
            rows = connection.execute(text(f"SELECT signature FROM {table} WHERE {condition}"), params)
            found.update(bytes(r[0]) for r in rows)
        return found

    # ------------------------------------------------------------------ GCs

    def _put(
        self,
        connection: Connection,
        gcs: Iterable[GeneticCode],
        job: str | None = None,
        island: int | None = None,
        epoch: int | None = None,
    ) -> int:
        unique = {gc.signature: gc for gc in gcs}
        if not unique:
            return 0
        signatures = sorted(unique)
        worker = self.worker[:255] if self.worker else None
        rows = [gc_row(unique[s], self.postgres, job, island, epoch, worker) for s in signatures]
        added = self._write(
            connection,
            "genetic_codes",
            GC_COLUMNS,
            rows,
            "signature",
            "ON CONFLICT (signature) DO NOTHING",
            add_to_stored=False,
        )
        return added

    def put_many(self, gcs: Iterable[GeneticCode]) -> int:
        """Store GCs (sub-GCs first); existing signatures are left alone. Returns how many were new."""
        batch = list(gcs)
        with self.transaction() as connection:
            added = self._put(connection, batch)
        self._remember(batch)  # after the commit: the cache holds only stored GCs
        return added

    def _load(self, connection: Connection, signatures: Sequence[bytes]) -> dict[bytes, GeneticCode]:
        """Rebuild the stored GCs among `signatures` from their rows."""
        found: dict[bytes, GeneticCode] = {}
        for chunk in self._chunks(signatures):
            condition, params = self._in("signature", chunk)
            rows = connection.execute(
                text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE {condition}"), params
            )
            for row in rows.mappings():
                gc = gc_from_row(row)
                found[gc.signature] = gc
        self._remember(found.values())
        return found

    def get_many(self, signatures: Iterable[bytes]) -> dict[bytes, GeneticCode]:
        """The stored GCs among `signatures` (codons included), keyed by signature."""
        registry = codon_registry()
        found: dict[bytes, GeneticCode] = {}
        missing: list[bytes] = []
        with self._cache_lock:
            for signature in dict.fromkeys(signatures):
                gc = self._cache.get(signature) or registry.get(signature)
                if gc is None:
                    missing.append(signature)
                else:
                    found[signature] = gc
        if missing:
            with self.engine.connect() as connection:
                found.update(self._load(connection, missing))
        return found

    def closure(self, signatures: Iterable[bytes], connection: Connection | None = None) -> list[GeneticCode]:
        """The GCs `signatures` with all their sub-GCs, recursively, sub-GCs first (one recursive query).

        Rows of GCs already in the cache are not rebuilt: rebuilding validates the graph and recomputes the
        signature, and the closures of a population's GCs share most of their sub-GCs (an executor loading
        one batch after another rebuilt ~16 cached GCs for every GC it scored).
        """
        rows = self.closure_rows(signatures, connection)
        with self._cache_lock:
            cached = [self._cache.get(bytes(row["signature"])) for row in rows]
        gcs = [gc if gc is not None else gc_from_row(row) for gc, row in zip(cached, rows, strict=True)]
        self._remember(gcs)
        return gcs

    def closure_rows(
        self,
        signatures: Iterable[bytes],
        connection: Connection | None = None,
        columns: Sequence[str] = GC_COLUMNS,
    ) -> list[Mapping[Any, Any]]:
        """The rows of `signatures` and of all their sub-GCs, sub-GCs first, in one recursive CTE query."""
        roots = sorted(set(signatures))
        if not roots:
            return []
        result: dict[bytes, Mapping[Any, Any]] = {}
        for chunk in self._chunks(roots):
            condition, params = self._in("signature", chunk)
            statement = text(
                "WITH RECURSIVE closure(signature) AS ("
                f" SELECT signature FROM genetic_codes WHERE {condition}"
                " UNION"
                " SELECT CASE WHEN side.n = 0 THEN g.gca ELSE g.gcb END"
                " FROM closure JOIN genetic_codes g ON g.signature = closure.signature"
                " CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1) side"
                " WHERE (CASE WHEN side.n = 0 THEN g.gca ELSE g.gcb END) IS NOT NULL"
                f") SELECT {', '.join(dict.fromkeys(['signature', 'code_depth', *columns]))}"
                " FROM genetic_codes"
                " WHERE signature IN (SELECT signature FROM closure)"
            )
            if connection is None:
                with self.engine.connect() as own:
                    rows = own.execute(statement, params).mappings().all()
            else:
                rows = connection.execute(statement, params).mappings().all()
            for row in rows:
                result[bytes(row["signature"])] = row
        # A sub-GC is always shallower than the GCs that use it.
        return sorted(result.values(), key=lambda r: (int(r["code_depth"]), bytes(r["signature"])))

    def rows_by_signature(
        self, signatures: Sequence[bytes], connection: Connection
    ) -> list[Mapping[Any, Any]]:
        """The `genetic_codes` rows of `signatures`, shallowest first (so sub-GCs come first)."""
        rows: list[Mapping[Any, Any]] = []
        for chunk in self._chunks(sorted(set(signatures))):
            condition, params = self._in("signature", chunk)
            rows.extend(
                connection.execute(
                    text(f"SELECT {', '.join(GC_COLUMNS)} FROM genetic_codes WHERE {condition}"), params
                ).mappings()
            )
        return sorted(rows, key=lambda r: (int(r["code_depth"]), bytes(r["signature"])))

    def bulk_update(
        self,
        connection: Connection,
        table: str,
        keys: Sequence[str],
        assignments: Mapping[str, str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Set `assignments` (target column → source column) of the rows matching `keys`, from `rows` whose
        columns are `keys` then the sources; Postgres stages them by COPY and runs one UPDATE … FROM."""
        if not rows:
            return
        sources = list(assignments.values())
        if self.postgres:
            names = ", ".join([*keys, *sources])
            stage = f"stage_upd_{table}_{zlib.crc32(names.encode()):08x}"
            raw = connection.connection.driver_connection
            assert raw is not None
            with raw.cursor() as cursor:
                cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS"
                    f" SELECT {', '.join(keys)}, {', '.join(f'{t} AS {s}' for t, s in assignments.items())}"
                    f" FROM {table} WITH NO DATA"
                )
                self._copy(cursor, stage, [*keys, *sources], rows, stage)
                cursor.execute(
                    f"UPDATE {table} SET {', '.join(f'{t} = s.{s}' for t, s in assignments.items())}"
                    f" FROM {stage} s WHERE {' AND '.join(f'{table}.{k} = s.{k}' for k in keys)}"
                )
                cursor.execute(f"TRUNCATE {stage}")
            return
        statement = text(
            f"UPDATE {table} SET {', '.join(f'{t} = :{s}' for t, s in assignments.items())}"
            f" WHERE {' AND '.join(f'{k} = :{k}' for k in keys)}"
        )
        connection.execute(statement, [dict(zip([*keys, *sources], row, strict=True)) for row in rows])

    # ------------------------------------------------------------------ statistics

    def problem_stats(self, problem: bytes, signatures: Iterable[bytes]) -> dict[bytes, ProblemStats]:
        """Statistics on `problem` of those `signatures` that have any."""
        wanted = sorted(set(signatures))
        found: dict[bytes, ProblemStats] = {}
        with self.engine.connect() as connection:
            for chunk in self._chunks(wanted):
                condition, params = self._in("signature", chunk)
                rows = connection.execute(
                    text(
                        "SELECT signature, fitness_total, fitness_count, evolvability_total,"
                        " evolvability_count, survivability, descendants FROM gc_problem_stats"
                        f" WHERE problem = :problem AND {condition}"
                    ),
                    params | {"problem": problem},
                )
                for r in rows:
                    found[bytes(r[0])] = ProblemStats(r[1], r[2], r[3], r[4], r[5], r[6])
        return found

    def pgc_stats(self, layer: int, signatures: Iterable[bytes]) -> dict[bytes, PgcStats]:
        """Statistics at `layer` of those pGC `signatures` that have any."""
        wanted = sorted(set(signatures))
        found: dict[bytes, PgcStats] = {}
        with self.engine.connect() as connection:
            for chunk in self._chunks(wanted):
                condition, params = self._in("signature", chunk)
                rows = connection.execute(
                    text(
                        "SELECT signature, fitness_total, fitness_count, evolvability_total,"
                        f" evolvability_count FROM pgc_stats WHERE layer = :layer AND {condition}"
                    ),
                    params | {"layer": layer},
                )
                for r in rows:
                    found[bytes(r[0])] = PgcStats(r[1], r[2], r[3], r[4])
        return found

    def _add_stats(
        self,
        connection: Connection,
        problem: bytes,
        deltas: Mapping[bytes, ProblemStats],
    ) -> None:
        rows = [
            (
                signature,
                problem,
                finite_or_zero(d.fitness_total),
                d.fitness_count,
                finite_or_zero(d.evolvability_total),
                d.evolvability_count,
                finite_or_zero(d.survivability),
                d.descendants,
            )
            for signature, d in sorted(deltas.items())
        ]

        self._write(
            connection,
            "gc_problem_stats",
            STATS_DELTA_COLUMNS,
            rows,
            "signature",
            STATS_CONFLICT,
            add_to_stored=True,
            problem=problem,
        )

    def _add_pgc_stats(self, connection: Connection, deltas: Mapping[tuple[bytes, int], PgcStats]) -> None:
        rows = [
            (
                signature,
                layer,
                finite_or_zero(d.fitness_total),
                d.fitness_count,
                finite_or_zero(d.evolvability_total),
                d.evolvability_count,
            )
            for (signature, layer), d in sorted(deltas.items())
        ]
        self._bulk_upsert(connection, "pgc_stats", PGC_DELTA_COLUMNS, rows, "signature, layer", PGC_CONFLICT)

    def add_problem_stats(self, problem: bytes, deltas: Mapping[bytes, ProblemStats]) -> None:
        """Add statistic deltas on `problem` in one transaction (outside an epoch record)."""
        with self.transaction() as connection:
            self._ensure_problem(connection, problem)
            self._add_stats(connection, problem, deltas)

    def _ensure_problem(self, connection: Connection, problem: bytes) -> None:
        connection.execute(
            text(
                "INSERT INTO problems (identity, created) VALUES (:p, :t) ON CONFLICT (identity) DO NOTHING"
            ),
            {"p": problem, "t": self.now()},
        )

    # ------------------------------------------------------------------ selection

    def best(self, problem: bytes, limit: int) -> list[GeneticCode]:
        """Up to `limit` GCs with the highest fitness on `problem`, best first (ties by signature)."""
        if limit <= 0:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT s.signature FROM gc_problem_stats s"
                    " JOIN genetic_codes g ON g.signature = s.signature"
                    " WHERE s.problem = :problem ORDER BY s.fitness DESC, s.signature LIMIT :limit"
                ),
                {"problem": problem, "limit": limit},
            ).all()
        signatures = [bytes(r[0]) for r in rows]
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found]

    def select_weighted_signatures(self, problem: bytes, count: int, seed: int) -> list[bytes]:
        """The signatures select_weighted draws: one index range read of the window, then a seeded draw."""
        if count <= 0:
            return []
        # The window is read by the (problem, survivability) index and handed back sorted by signature, as
        # MemoryGenePool draws: identical picks whenever the window holds every scored GC.
        query = (
            "SELECT signature, survivability FROM (SELECT signature, survivability FROM gc_problem_stats"
            " WHERE problem = {p} ORDER BY survivability DESC, signature DESC LIMIT {w}) AS top"
            " ORDER BY signature"
        )
        if self.postgres:
            # The hot path of every generation: a binary cursor skips text parsing of 32-byte keys.
            with self.engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                with raw.cursor(binary=True) as cursor:
                    window = cursor.execute(
                        query.format(p="%s", w="%s"), (problem, self.selection_window)
                    ).fetchall()
                connection.rollback()
        else:
            with self.engine.connect() as connection:
                window = list(
                    connection.execute(
                        text(query.format(p=":problem", w=":window")),
                        {"problem": problem, "window": self.selection_window},
                    ).all()
                )
        if not window:
            return []
        signatures = [bytes(r[0]) for r in window]
        weights = [max(float(r[1]), 1e-12) for r in window]
        return random.Random(seed).choices(signatures, weights, k=count)

    def select_weighted(self, problem: bytes, count: int, seed: int) -> list[GeneticCode]:
        """`count` GCs scored on `problem` drawn (with replacement) with weight = survivability."""
        drawn = self.select_weighted_signatures(problem, count, seed)
        found = self.get_many(drawn)
        if len(found) == len(set(drawn)):
            return [found[s] for s in drawn]
        # Statistics without a stored GC (archived, or written apart from it): draw among stored ones only.
        with self.engine.connect() as connection:
            window = connection.execute(
                text(
                    "SELECT s.signature, s.survivability FROM gc_problem_stats s"
                    " JOIN genetic_codes g ON g.signature = s.signature WHERE s.problem = :problem"
                    " ORDER BY s.survivability DESC, s.signature DESC LIMIT :window"
                ),
                {"problem": problem, "window": self.selection_window},
            ).all()
        if not window:
            return []
        window = sorted(window, key=lambda r: bytes(r[0]))
        picks = random.Random(seed).choices(
            [bytes(r[0]) for r in window], [max(float(r[1]), 1e-12) for r in window], k=count
        )
        found = self.get_many(picks)
        return [found[s] for s in picks if s in found]

    def match_interface_signatures(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[bytes]:
        """The signatures match_interface returns: a seeded random window of the interface index."""
        if limit <= 0:
            return []
        rng = random.Random(seed)
        # Signatures are uniform hashes: a window starting at a random signature is a random sample, read
        # as one range scan of the (interface_key, signature) index.
        start = rng.randbytes(32)
        key = interface_key(inputs, outputs)
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM genetic_codes WHERE interface_key = :key AND signature >= :start"
                    " ORDER BY signature LIMIT :limit"
                ),
                {"key": key, "start": start, "limit": limit},
            ).all()
            if len(rows) < limit:
                rows = [
                    *rows,
                    *connection.execute(
                        text(
                            "SELECT signature FROM genetic_codes WHERE interface_key = :key"
                            " AND signature < :start ORDER BY signature LIMIT :limit"
                        ),
                        {"key": key, "start": start, "limit": limit - len(rows)},
                    ).all(),
                ]
        signatures = [bytes(r[0]) for r in rows]
        rng.shuffle(signatures)
        return signatures

    def match_interface(
        self, inputs: Sequence[int], outputs: Sequence[int], limit: int, seed: int
    ) -> list[GeneticCode]:
        """Up to `limit` stored GCs whose interface is exactly (inputs → outputs), seeded random order."""
        signatures = self.match_interface_signatures(inputs, outputs, limit, seed)
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found]

    def best_pgcs(self, layer: int, limit: int) -> list[GeneticCode]:
        """Up to `limit` pGCs with the highest fitness at `layer`, best first."""
        if limit <= 0:
            return []
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM pgc_stats WHERE layer = :layer"
                    " ORDER BY fitness DESC, signature LIMIT :limit"
                ),
                {"layer": layer, "limit": 2 * limit},
            ).all()
        signatures = [bytes(r[0]) for r in rows]
        found = self.get_many(signatures)
        return [found[s] for s in signatures if s in found][:limit]

    # ------------------------------------------------------------------ epochs

    def record_epoch(self, record: EpochRecord) -> bool:
        """Apply an epoch's writes atomically; False (nothing written) if that epoch was already recorded."""
        with self.transaction() as connection:
            if record.job is not None:
                # The ledger row first: a concurrent duplicate waits on it, then sees the conflict.
                inserted = connection.execute(
                    text(
                        "INSERT INTO epochs (job, island, epoch, committed, best, stale)"
                        " VALUES (:job, :island, :epoch, :now, :best, :stale)"
                        " ON CONFLICT (job, island, epoch) DO NOTHING"
                    ),
                    {
                        "job": record.job,
                        "island": record.island,
                        "epoch": record.epoch,
                        "now": self.now(),
                        "best": finite_or_zero(record.best),
                        "stale": record.stale,
                    },
                ).rowcount
                if inserted == 0:
                    return False
            self._put(connection, record.new_gcs, record.job, record.island, record.epoch)
            if record.problem_stats:
                self._ensure_problem(connection, record.problem)
                self._add_stats(connection, record.problem, record.problem_stats)
            if record.pgc_stats:
                self._add_pgc_stats(connection, record.pgc_stats)
            job = record.job or ""
            connection.execute(
                text("DELETE FROM population_members WHERE job = :job AND island = :island"),
                {"job": job, "island": record.island},
            )
            members = list(dict.fromkeys(record.members))
            if members:
                connection.execute(
                    text(
                        "INSERT INTO population_members (job, island, signature, position)"
                        " VALUES (:job, :island, :signature, :position)"
                    ),
                    [
                        {"job": job, "island": record.island, "signature": s, "position": k}
                        for k, s in enumerate(members)
                    ],
                )
        self._remember(record.new_gcs)  # after the commit: the cache holds only stored GCs
        return True

    def members(self, job: str | None, island: int) -> list[bytes]:
        """The population members last recorded for (job, island), in their recorded order."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT signature FROM population_members WHERE job = :job AND island = :island"
                    " ORDER BY position"
                ),
                {"job": job or "", "island": island},
            ).all()
        return [bytes(r[0]) for r in rows]

    def island_state(self, job: str, island: int) -> tuple[float, int]:
        """The island's best fitness and stale generations after its last recorded epoch ((-1, 0) if none)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text(
                    "SELECT best, stale FROM epochs WHERE job = :job AND island = :island"
                    " ORDER BY epoch DESC LIMIT 1"
                ),
                {"job": job, "island": island},
            ).first()
        if row is None or row[0] is None:
            return -1.0, 0
        return float(row[0]), int(row[1] or 0)

    def epoch_recorded(self, job: str, island: int, epoch: int) -> bool:
        """True when the ledger holds (job, island, epoch)."""
        with self.engine.connect() as connection:
            row = connection.execute(
                text("SELECT 1 FROM epochs WHERE job = :job AND island = :island AND epoch = :epoch"),
                {"job": job, "island": island, "epoch": epoch},
            ).first()
        return row is not None

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        tables = (
            "genetic_codes",
            "gc_problem_stats",
            "pgc_stats",
            "problems",
            "jobs",
            "population_members",
            "epochs",
            "sources",
            "sync_state",
            "quarantine",
            "archive",
        )
        with self.engine.connect() as connection:
            return {
                t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables
            }

    def close(self) -> None:
        """Release this pool's cached GCs (the engine is shared per URL and disposed by egp.db)."""
        with self._cache_lock:
            self._cache.clear()


def check_schema(url: str) -> None:
    """Raise SchemaNotAtHeadError unless the database at `url` is at the newest schema revision."""
    from egp.migrations import current

    info = current(url)
    if not info.at_head:
        raise SchemaNotAtHeadError(
            f"{display_url(url)} is at schema revision {info.revision or 'none'}, not {info.head};"
            f" run `egp db upgrade --url {display_url(url)}`"
        )


def open_gene_pool(url: str, *, selection_window: int | None = None) -> GenePool:
    """The Gene Pool at `url`: memory:// → MemoryGenePool, else SQLGenePool (an embedded SQLite file is
    created or upgraded on first use; any other database must already be at head)."""
    if url.startswith(MEMORY_URL):
        return MemoryGenePool()
    try:
        url = normalise_database_url(url)
    except ValueError as error:
        raise StorageError(str(error)) from None
    from egp.db import reported_errors
    from egp.migrations import current, upgrade

    with reported_errors(url):
        if make_url(url).get_backend_name() == "sqlite":
            path = sqlite_file(url)
            if path is None or not path.exists() or not current(url).at_head:
                upgrade(url)
        else:
            check_schema(url)
    from egp.config import get_settings

    window = selection_window if selection_window is not None else get_settings().selection_window
    return SQLGenePool(url, selection_window=window)


__all__ = [
    "GC_COLUMNS",
    "MEMORY_URL",
    "SQLGenePool",
    "SchemaNotAtHeadError",
    "StorageError",
    "check_schema",
    "gc_from_row",
    "gc_json_from_row",
    "gc_row",
    "interface_key",
    "is_runtime_literal",
    "lock_key",
    "open_gene_pool",
]
