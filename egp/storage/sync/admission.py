"""Admission of GCs arriving from another database: validate each one, quarantine the failures.

Every GC that arrives from another database is first parsed under the limits of `row_limits` (size, nesting
depth, string lengths, endpoint count), then validated with `from_json` (canonical graph, known codons,
sub-GCs present with matching interfaces, recomputed signature); runtime literal codons are re-created from
their literal. *Any* failure of one row, foreseen or not, is written to `quarantine` with its reason and the
rest of the batch still lands: a sync never aborts on row content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text

from egp.errors import EGPError, one_line
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import GCValidationError, graph_from_json
from egp.genetic_code.serialization import from_json
from egp.genetic_code.signature import parse_signature
from egp.storage.rows import gc_json_from_row, runtime_literal_codon
from egp.storage.sql_pool import SQLGenePool


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


def shipped(signature: bytes) -> bool:
    """True for a codon shipped with EGP (not one registered at run time)."""
    codon = codon_registry().get(signature)
    return codon is not None and codon.pgc is None


def quarantine(
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


# What of a rejected row is kept in `quarantine`: enough to recognise it, never a 20 MB hostile string.
_RAW_VALUE_CHARS = 4096


def raw_of(row: Mapping[Any, Any]) -> str:
    """A rejected row as JSON text for `quarantine`: bytes as hex, every value cut to _RAW_VALUE_CHARS."""
    raw: dict[str, str | None] = {}
    for key in row:
        value = row[key]
        if value is None:
            raw[str(key)] = None
            continue
        shown = bytes(value).hex() if isinstance(value, bytes | bytearray | memoryview) else str(value)
        if len(shown) > _RAW_VALUE_CHARS:
            shown = f"{shown[:_RAW_VALUE_CHARS]}... ({len(shown)} characters)"
        raw[str(key)] = shown
    return json.dumps(raw, sort_keys=True)


def reason_of(error: BaseException) -> str:
    """One line saying why a row was rejected; an error we did not foresee also names its type."""
    if isinstance(error, EGPError):
        return one_line(error)
    return f"{type(error).__name__}: {one_line(error)}"


def row_signature(row: Mapping[Any, Any]) -> bytes | None:
    """The row's signature as bytes, or None when the column is not bytes at all."""
    value = row["signature"]
    return bytes(value) if isinstance(value, bytes | bytearray | memoryview) else None


def admit(
    target: SQLGenePool,
    connection: Connection,
    rows: Sequence[Mapping[Any, Any]],
    source: str,
) -> tuple[list[GeneticCode], list[tuple[bytes | None, str, str]]]:
    """Validate the rows (sub-GCs first) not yet stored in `target`; return the valid GCs and the rejects."""
    valid: list[GeneticCode] = []
    rejected: list[tuple[bytes | None, str, str]] = []
    usable: list[Mapping[Any, Any]] = []
    for row in rows:
        if row_signature(row) is None or len(row_signature(row) or b"") != 32:
            rejected.append((None, raw_of(row), f"{source}: the signature is not 32 bytes"))
        else:
            usable.append(row)
    signatures = [bytes(r["signature"]) for r in usable]
    present = target.present(connection, "genetic_codes", signatures)
    store: dict[bytes, GeneticCode] = {}
    # Sub-GCs the target already holds (present rows, or referenced from outside the batch) are trusted.
    own = set(signatures)
    refs = {
        bytes(r[k])
        for r in usable
        for k in ("gca", "gcb")
        if isinstance(r[k], bytes | bytearray | memoryview)
    }
    need = (refs - own) | (refs & present)
    if need:
        store.update(target.load(connection, sorted(need)))
    for row in usable:
        signature = bytes(row["signature"])
        if signature in present:
            continue
        try:
            gc = _admit_one(row, store)
        except Exception as error:
            rejected.append((signature, raw_of(row), f"{source}: {reason_of(error)}"))
            continue
        store[gc.signature] = gc
        valid.append(gc)
    return valid, rejected


def _admit_one(row: Mapping[Any, Any], store: Mapping[bytes, GeneticCode]) -> GeneticCode:
    """Parse one row under limits and validate it against `store`; raises on any fault of the row."""
    for key in ("gca", "gcb"):
        ref = row[key]
        # A sub-GC must arrive valid in this batch, be held already, or be a shipped codon: a runtime codon
        # this process happens to know is not enough, the database must hold its row. A cycle through
        # gca/gcb never validates: each GC of it waits for another that comes after it.
        if ref is not None and bytes(ref) not in store and not shipped(bytes(ref)):
            raise GCValidationError(f"{key} {bytes(ref).hex()} is neither held nor valid in this batch")
    return validate_incoming(gc_json_from_row(row), store)


__all__ = ["admit", "quarantine", "raw_of", "reason_of", "row_signature", "shipped", "validate_incoming"]
