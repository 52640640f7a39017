"""A GC's lineage as the dashboard shows it: its ancestors (with the pGC that made each) and its sub-GC
tree, each depth-limited, read from the Gene Pool and its archive, level by level in batches.

Codons are not stored in a Gene Pool; they are named from the codon registry. A signature found nowhere is
still a node (stored: False), so a lineage that reaches past what this Gene Pool keeps says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import text

from egp.dashboard.ids import NotFoundError
from egp.db import as_utc
from egp.genetic_code.codons import codon_registry
from egp.storage.sql_pool import SQLGenePool

COLUMNS = (
    "signature, gca, gcb, ancestora, ancestorb, pgc, num_codons, code_depth, generation, created, codon_name,"
    " job, island, epoch"
)
# Default and largest depths of the two trees, and the most nodes one tree shows.
DEFAULT_DEPTH = 4
MAX_DEPTH = 8
MAX_NODES = 512


def _fetch(pool: SQLGenePool, signatures: Iterable[bytes]) -> dict[bytes, dict[str, Any]]:
    """Nodes for `signatures`: stored, archived, codon, or unknown."""
    wanted = sorted(set(signatures))
    found: dict[bytes, dict[str, Any]] = {}
    registry = codon_registry()
    with pool.engine.connect() as connection:
        for table, archived in (("genetic_codes", False), ("archive", True)):
            missing = [s for s in wanted if s not in found]
            for chunk in pool.chunks(missing):
                condition, params = pool.in_condition("signature", chunk)
                for row in connection.execute(
                    text(f"SELECT {COLUMNS} FROM {table} WHERE {condition}"), params
                ).mappings():
                    found[bytes(row["signature"])] = _node(row, archived)
    for signature in wanted:
        if signature not in found:
            codon = registry.get(signature)
            found[signature] = {
                "signature": signature.hex(),
                "name": codon.name if codon is not None else signature.hex()[:8],
                "stored": codon is not None,
                "codon": codon is not None,
                "archived": False,
                "codons": 1 if codon is not None else None,
                "refs": {},
            }
    return found


def _node(row: Any, archived: bool) -> dict[str, Any]:
    """A stored GC row as a lineage node (its references kept apart for the tree walk)."""
    refs = {k: bytes(row[k]) for k in ("gca", "gcb", "ancestora", "ancestorb", "pgc") if row[k] is not None}
    signature = bytes(row["signature"])
    return {
        "signature": signature.hex(),
        "name": row["codon_name"] or signature.hex()[:8],
        "stored": True,
        "codon": row["codon_name"] is not None,
        "archived": archived,
        "codons": int(row["num_codons"]),
        "depth": int(row["code_depth"]),
        "generation": int(row["generation"]),
        "created": as_utc(row["created"]).isoformat(),
        "job": row["job"],
        "island": row["island"],
        "epoch": row["epoch"],
        "refs": refs,
    }


def _tree(pool: SQLGenePool, root: bytes, keys: tuple[str, str], depth: int, label: str) -> dict[str, Any]:
    """The tree from `root` following `keys` (ancestors or sub-GCs) to `depth` levels, under `label`."""
    nodes = _fetch(pool, [root])
    level = [root]
    count = 1
    for _ in range(depth):
        following = [n for s in level for k in keys if (n := nodes[s]["refs"].get(k)) is not None]
        following = [s for s in following if s not in nodes]
        if not following or count >= MAX_NODES:
            break
        nodes.update(_fetch(pool, following[: MAX_NODES - count]))
        count = len(nodes)
        level = [s for s in following if s in nodes]

    def build(signature: bytes, remaining: int) -> dict[str, Any]:
        node = dict(nodes[signature])
        refs = node.pop("refs")
        pgc = refs.get("pgc")
        node["pgc"] = None if pgc is None else {"signature": pgc.hex(), "name": _name(pgc)}
        node[label] = [
            build(refs[k], remaining - 1) if remaining > 0 and refs[k] in nodes else _stub(refs[k])
            for k in keys
            if k in refs
        ]
        return node

    return build(root, depth)


def _name(signature: bytes) -> str:
    """A codon's name, else the signature's first 8 hex digits."""
    codon = codon_registry().get(signature)
    return codon.name if codon is not None else signature.hex()[:8]


def _stub(signature: bytes) -> dict[str, Any]:
    """A reference beyond the depth shown: its signature, to follow with a link (a codon is shown as one:
    nothing lies beyond it)."""
    if codon_registry().get(signature) is not None:
        return {
            "signature": signature.hex(),
            "name": _name(signature),
            "codon": True,
            "stored": True,
            "codons": 1,
        }
    return {"signature": signature.hex(), "name": _name(signature), "beyond": True}


def problem_statistics(pool: SQLGenePool, signature: bytes) -> list[dict[str, Any]]:
    """The GC's fitness, evaluations and survivability on each problem it was scored on."""
    with pool.engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT p.name, s.problem, s.fitness, s.fitness_count, s.survivability, s.descendants"
                " FROM gc_problem_stats s LEFT JOIN problems p ON p.identity = s.problem"
                " WHERE s.signature = :s ORDER BY s.fitness DESC"
            ),
            {"s": signature},
        ).all()
    return [
        {
            "problem": name or bytes(identity).hex()[:12],
            "fitness": float(fitness),
            "evaluations": int(count),
            "survivability": float(survivability),
            "descendants": int(descendants),
        }
        for name, identity, fitness, count, survivability, descendants in rows
    ]


def lineage(pool: SQLGenePool, signature: bytes, depth: int = DEFAULT_DEPTH) -> dict[str, Any]:
    """The GC's ancestors (each with the pGC that made it) and sub-GC tree to `depth` levels, and its
    statistics; NotFoundError if neither the Gene Pool, its archive nor the codon registry has it."""
    depth = max(0, min(depth, MAX_DEPTH))
    root = _fetch(pool, [signature])[signature]
    if not root["stored"]:
        raise NotFoundError(f"no GC {signature.hex()} in this Gene Pool, its archive or the codon registry")
    return {
        "signature": signature.hex(),
        "depth": depth,
        "ancestors": _tree(pool, signature, ("ancestora", "ancestorb"), depth, "parents"),
        "subgcs": _tree(pool, signature, ("gca", "gcb"), depth, "children"),
        "statistics": problem_statistics(pool, signature),
    }
