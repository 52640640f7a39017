"""The Gene Pool page's figures: row counts, problems and how they relate, how each pGC layer performed per
problem family, the most reused building blocks, library sync state and quarantined rows with their
reasons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from egp.config import display_url
from egp.db import as_utc
from egp.engine.relations import RELATED_DISTANCE, family_distance, relation_closeness
from egp.genetic_code.codons import codon_registry
from egp.storage.sql_pool import SQLGenePool

# How many of the most reused building blocks and of the newest quarantine rows the page shows.
TOP_REUSED = 20
QUARANTINE_ROWS = 50
# Problems whose pairs are checked for a declared family relation (pairs grow with the square).
DECLARED_PROBLEMS = 400


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


def _mean(total: float, count: int) -> float | None:
    """A mean of merged totals (None before any measurement)."""
    return total / count if count else None


def relations(pool: SQLGenePool) -> list[dict[str, Any]]:
    """Every pair of problems with evidence of a relation, as `egp problems related` weighs it: the pairs
    runs measured (fitness distance, shared sub-GCs) and the pairs of one family whose declared parameter
    distance makes them related; related pairs first, closest first."""
    with pool.engine.connect() as connection:
        names = {
            bytes(identity): name
            for identity, name in connection.execute(
                text("SELECT identity, name FROM problems ORDER BY created LIMIT :n"),
                {"n": DECLARED_PROBLEMS},
            )
        }
        recorded = connection.execute(
            text(
                "SELECT r.problem_a, r.problem_b, r.family_distance, r.fitness_distance_total,"
                " r.fitness_distance_count, r.shared_total, r.shared_count, r.updated, a.name, b.name"
                " FROM problem_relations r LEFT JOIN problems a ON a.identity = r.problem_a"
                " LEFT JOIN problems b ON b.identity = r.problem_b"
            )
        ).all()
    pairs: dict[tuple[bytes, bytes], dict[str, Any]] = {}
    for a, b, declared, fd_total, fd_count, sh_total, sh_count, updated, name_a, name_b in recorded:
        key = (bytes(a), bytes(b))
        distance = family_distance(name_a, name_b)
        pairs[key] = {
            "problem_a": name_a or key[0].hex()[:12],
            "problem_b": name_b or key[1].hex()[:12],
            "family_distance": distance if distance is not None else declared,
            "fitness_distance": _mean(float(fd_total), int(fd_count)),
            "fitness_measurements": int(fd_count),
            "shared_sub_gcs": _mean(float(sh_total), int(sh_count)),
            "shared_measurements": int(sh_count),
            "updated": _when(updated),
        }
    # Pairs of one family no run has measured yet: related by their declared parameters alone.
    named = sorted(names.items())
    for i, (a, name_a) in enumerate(named):
        for b, name_b in named[i + 1 :]:
            distance = family_distance(name_a, name_b)
            if (a, b) in pairs or distance is None or distance > RELATED_DISTANCE:
                continue
            pairs[(a, b)] = {
                "problem_a": name_a,
                "problem_b": name_b,
                "family_distance": distance,
                "fitness_distance": None,
                "fitness_measurements": 0,
                "shared_sub_gcs": None,
                "shared_measurements": 0,
                "updated": None,
            }
    for pair in pairs.values():
        closeness = relation_closeness(pair["family_distance"], pair["shared_sub_gcs"])
        pair["closeness"] = closeness
        pair["related"] = closeness is not None and closeness <= RELATED_DISTANCE
    return sorted(
        pairs.values(),
        key=lambda r: (not r["related"], r["closeness"] is None, r["closeness"] or 0.0, r["problem_a"]),
    )


def pgc_families(pool: SQLGenePool) -> list[dict[str, Any]]:
    """How each pGC layer performed per problem family over the runs recorded: runs, pooled pGCs, the share
    above fitness 0.5, mean fitness and mean evolvability."""
    with pool.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT family, layer, runs, pgcs, above_half, fitness_total, evolvability_total"
                " FROM pgc_family_layers ORDER BY family, layer"
            )
        ).all()
    return [
        {
            "family": family,
            "layer": int(layer),
            "runs": int(runs),
            "pgcs": int(pgcs),
            "above_half": _mean(float(above), int(pgcs)),
            "fitness": _mean(float(fitness), int(pgcs)),
            "evolvability": _mean(float(evolvability), int(pgcs)),
        }
        for family, layer, runs, pgcs, above, fitness, evolvability in rows
    ]


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
    """The figures that scan every stored GC (row counts, problems, the most reused building blocks), and
    those that change only when a run ends (problem relations, pGC layers per family)."""
    return {
        "counts": pool.counts(),
        "problems": problems(pool),
        "relations": relations(pool),
        "pgc_families": pgc_families(pool),
        "most_reused": most_reused(pool),
    }


def overview(pool: SQLGenePool, summed: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything the Gene Pool page shows; `summed`: its `aggregates` as computed earlier (default: now).
    The library sync state and the quarantine are read now either way."""
    return {
        "url": display_url(pool.url),
        "related_distance": RELATED_DISTANCE,
        **(summed if summed is not None else aggregates(pool)),
        "sync": sync_state(pool),
        "quarantine": quarantine(pool),
    }
