"""Admission of GCs arriving from another database: validate each one, quarantine the failures.

Every GC that arrives from another database is validated with `from_json` (canonical graph, known codons,
sub-GCs present with matching interfaces, recomputed signature); runtime literal codons are re-created from
their literal. A failure is written to `quarantine` with its reason and the rest of the batch still lands.
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


def admit(
    target: SQLGenePool,
    connection: Connection,
    rows: Sequence[Mapping[Any, Any]],
    source: str,
) -> tuple[list[GeneticCode], list[tuple[bytes | None, str, str]]]:
    """Validate the rows (sub-GCs first) not yet stored in `target`; return the valid GCs and the rejects."""
    signatures = [bytes(r["signature"]) for r in rows]
    present = target.present(connection, "genetic_codes", signatures)
    store: dict[bytes, GeneticCode] = {}
    # Sub-GCs the target already holds (present rows, or referenced from outside the batch) are trusted.
    own = set(signatures)
    refs = {bytes(r[k]) for r in rows for k in ("gca", "gcb") if r[k] is not None}
    need = (refs - own) | (refs & present)
    if need:
        store.update(target.load(connection, sorted(need)))
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
                if ref is not None and bytes(ref) not in store and not shipped(bytes(ref)):
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


__all__ = ["admit", "quarantine", "shipped", "validate_incoming"]
