"""A stored GC as a program: its Python source (as `egp evolve` prints it) and its formula."""

from __future__ import annotations

from typing import Any

from egp.dashboard.formula import formula
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.execution import Executor
from egp.storage.sql_pool import SQLGenePool


def program(pool: SQLGenePool, signature: bytes) -> dict[str, Any] | None:
    """The GC `signature`'s source and formulas, or None if the Gene Pool does not hold it."""
    registry = codon_registry()
    store = {codon.signature: codon for codon in registry}
    store.update((gc.signature, gc) for gc in pool.closure([signature]))
    gc = store.get(signature)
    if gc is None:
        return None
    source = Executor(store).source(gc)
    return {
        "signature": signature.hex(),
        "codons": gc.num_codons,
        "source": source,
        "formula": formula(source),
    }
