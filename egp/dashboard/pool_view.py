"""The Gene Pool page's figures: row counts, problems, the most reused building blocks, library sync state
and quarantined rows with their reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from egp.config import display_url
from egp.db import as_utc
from egp.genetic_code.codons import codon_registry
from egp.storage.sql_pool import SQLGenePool

# How many of the most reused building blocks and of the newest quarantine rows the page shows.
TOP_REUSED = 20
QUARANTINE_ROWS = 50


def _when(value: Any) -> str | None:
    """A timestamp column as ISO text (None stays None)."""
    return None if value is None else as_utc(value).isoformat()


def problems(pool: SQLGenePool) -> list[dict[str, Any]]:
    """Each known problem: name, version, interface, GCs scored on it and the best mean fitness."""
    with pool.engine.connect() as connection:
        scored = {
            bytes(identity): (int(count), float(best))
            for identity, count, best in connection.execute(
                text("SELECT problem, count(*), max(fitness) FROM gc_problem_stats GROUP BY problem")
            )
        }
        rows = connection.execute(
            text("SELECT identity, name, version, interface, created FROM problems ORDER BY created")
        ).all()
    listed = []
    for identity, name, version, interface, created in rows:
        count, best = scored.pop(bytes(identity), (0, None))
        listed.append(
            {
                "identity": bytes(identity).hex(),
                "name": name,
                "version": version,
                "interface": interface,
                "created": _when(created),
                "scored_gcs": count,
                "best_fitness": best,
            }
        )
    # Statistics of a problem with no problems row (written before names were stored).
    for identity, (count, best) in scored.items():
        listed.append({"identity": identity.hex(), "name": None, "scored_gcs": count, "best_fitness": best})
    return listed


def most_reused(pool: SQLGenePool, top: int = TOP_REUSED) -> list[dict[str, Any]]:
    """The GCs used most often as a direct sub-GC (gca or gcb) of stored GCs, codons included."""
    with pool.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT sub, count(*) AS uses FROM ("
                " SELECT gca AS sub FROM genetic_codes WHERE gca IS NOT NULL"
                " UNION ALL SELECT gcb FROM genetic_codes WHERE gcb IS NOT NULL) AS subs"
                " GROUP BY sub ORDER BY uses DESC, sub LIMIT :top"
            ),
            {"top": top},
        ).all()
        signatures = [bytes(sub) for sub, _ in rows]
        sizes: dict[bytes, int] = {}
        if signatures:
            condition, params = pool.in_condition("signature", signatures)
            sizes = {
                bytes(s): int(n)
                for s, n in connection.execute(
                    text(f"SELECT signature, num_codons FROM genetic_codes WHERE {condition}"), params
                )
            }
    registry = codon_registry()
    reused = []
    for signature, (_, uses) in zip(signatures, rows, strict=True):
        codon = registry.get(signature)
        reused.append(
            {
                "signature": signature.hex(),
                "name": codon.name if codon is not None else signature.hex()[:8],
                "codon": codon is not None,
                "codons": 1 if codon is not None else sizes.get(signature),
                "uses": int(uses),
            }
        )
    return reused


def sync_state(pool: SQLGenePool) -> list[dict[str, Any]]:
    """Each library peer: batches pushed and applied, the last push and pull, GCs moved, a pending batch."""
    with pool.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT peer, push_seq, applied_seq, pending IS NOT NULL, last_push, last_pull, pushed_gcs,"
                " pulled_gcs FROM sync_state ORDER BY peer"
            )
        ).all()
    return [
        {
            "peer": display_url(peer) if "://" in peer else peer,
            "push_seq": int(push_seq),
            "applied_seq": int(applied_seq),
            "pending": bool(pending),
            "last_push": _when(last_push),
            "last_pull": _when(last_pull),
            "pushed_gcs": int(pushed),
            "pulled_gcs": int(pulled),
        }
        for peer, push_seq, applied_seq, pending, last_push, last_pull, pushed, pulled in rows
    ]


def quarantine(pool: SQLGenePool, limit: int = QUARANTINE_ROWS) -> dict[str, Any]:
    """How many rows are quarantined, and the newest `limit` with their reasons and sources."""
    with pool.engine.connect() as connection:
        total = int(connection.execute(text("SELECT count(*) FROM quarantine")).scalar_one())
        rows = connection.execute(
            text(
                "SELECT id, signature, reason, source_url, received FROM quarantine"
                " ORDER BY received DESC, id DESC LIMIT :limit"
            ),
            {"limit": limit},
        ).all()
    return {
        "total": total,
        "rows": [
            {
                "id": int(row_id),
                "signature": bytes(signature).hex() if signature is not None else None,
                "reason": reason,
                "source": display_url(source) if "://" in source else source,
                "received": _when(received),
            }
            for row_id, signature, reason, source, received in rows
        ],
    }


def aggregates(pool: SQLGenePool) -> dict[str, Any]:
    """The figures that scan every stored GC: row counts, problems, the most reused building blocks."""
    return {"counts": pool.counts(), "problems": problems(pool), "most_reused": most_reused(pool)}


def overview(pool: SQLGenePool, summed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the Gene Pool page shows; `summed`: its `aggregates` as computed earlier (default: now).
    The library sync state and the quarantine are read now either way."""
    return {
        "url": display_url(pool.url),
        **(summed if summed is not None else aggregates(pool)),
        "sync": sync_state(pool),
        "quarantine": quarantine(pool),
    }
