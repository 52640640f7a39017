"""The bulk write paths of the SQL Gene Pool: binary COPY, staging-table upserts and updates.

Writes are bulk and additive. On Postgres the keys of a batch already stored are looked up first (one
index probe per key, parameters sent binary), the new rows go by one binary COPY straight into the table under
a savepoint, and the stored ones are merged through a per-connection staging table and one
`INSERT … SELECT … ORDER BY key ON CONFLICT …` (also the fallback when a concurrent writer stored a row
between the lookup and the COPY). SQLite uses one `executemany` of the same upsert. Every batch is sorted by
its key so concurrent writers lock rows in the same order and cannot deadlock.
"""

from __future__ import annotations

import functools
import struct
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper
from psycopg.types.string import BytesBinaryDumper
from sqlalchemy import Connection, text

from egp.storage.base import PoolBase

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
    """COPY dumper of the INT4[] type-set columns: psycopg's generic list dumper is Python code run for two
    values of every stored GC, while the few distinct type sets can be encoded once and reused."""

    format = pq.Format.BINARY
    oid = _INT4_ARRAY_OID

    def dump(self, obj: Any) -> bytes:
        """The cached binary encoding of a list of type uids."""
        return _int4_array_binary(tuple(obj))


class BulkWrites(PoolBase):
    """The bulk write paths of a SQL Gene Pool: COPY and staging tables on Postgres, executemany on SQLite."""

    def __init__(self, url: str, *, selection_window: int = 1024, cache_size: int = 20_000) -> None:
        """A Gene Pool on `url` (see PoolBase), with its cache of column type OIDs for binary COPY."""
        super().__init__(url, selection_window=selection_window, cache_size=cache_size)
        self._oid_cache: dict[tuple[str, tuple[str, ...]], list[int]] = {}

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

    def copy_rows(
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

    def bulk_upsert(
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
                self.copy_rows(cursor, stage, columns, rows, table)
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
                    self.copy_rows(cursor, table, columns, rows[start : start + _COPY_CHUNK], table)
            except psycopg.errors.UniqueViolation:
                cursor.execute("ROLLBACK TO SAVEPOINT egp_direct_copy")
                return False
            cursor.execute("RELEASE SAVEPOINT egp_direct_copy")
        return True

    def write_rows(
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

        On Postgres the rows already stored are looked up first and the others go by one straight COPY, the
        fastest path: in an evolving job most batches hold GCs made again, so an optimistic COPY of the whole
        batch would fail on a duplicate and be redone most of the time. If a concurrent writer stores one of
        them in between, the COPY fails on the duplicate key and they are upserted through staging instead.
        SQLite uses one executemany upsert.
        """
        if not rows:
            return 0
        if not self.postgres:
            return self.bulk_upsert(connection, table, columns, rows, key, conflict)
        known = self.present(connection, table, [r[0] for r in rows], problem)
        fresh = [r for r in rows if r[0] not in known]
        old = [r for r in rows if r[0] in known]
        if self._try_copy(connection, table, columns, fresh):
            written = len(fresh)
        else:
            written = self.bulk_upsert(connection, table, columns, fresh, key, conflict)
        if add_to_stored:
            written += self.bulk_upsert(connection, table, columns, old, key, conflict)
        return written

    def present(
        self, connection: Connection, table: str, signatures: Sequence[bytes], problem: bytes | None = None
    ) -> set[bytes]:
        """Which of `signatures` have a row in `table` (for `problem`, when given)."""
        if self.postgres:
            raw = connection.connection.driver_connection
            assert raw is not None
            # Binary parameters: escaping thousands of signatures into a text bytea[] is slow.
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
        for chunk in self.chunks(signatures):
            condition, params = self.in_condition("signature", chunk)
            if problem is not None:
                condition, params = f"problem = :problem AND {condition}", params | {"problem": problem}
            rows = connection.execute(text(f"SELECT signature FROM {table} WHERE {condition}"), params)
            found.update(bytes(r[0]) for r in rows)
        return found

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
                self.copy_rows(cursor, stage, [*keys, *sources], rows, stage)
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


__all__ = ["BulkWrites"]
