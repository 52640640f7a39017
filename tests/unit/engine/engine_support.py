"""Shared helpers for the engine tests: small engines, hand-made pGC lineages and misbehaving problems."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from egp.engine.config import EvolutionConfig
from egp.engine.engine import Engine
from egp.engine.gene_pool import EpochRecord
from egp.genetic_code.assembly import Assembler, Expr
from egp.genetic_code.codons import codon_registry
from egp.genetic_code.gc import GeneticCode, build_gc
from egp.genetic_code.types import TYPES
from egp.problems import Assessment, FitnessCases, KozaQuartic, Problem

REGISTRY = codon_registry()
FLOAT = TYPES.uid("float")
GCABC = TYPES.uid("GCABC")


def codon(name: str) -> GeneticCode:
    """The shipped codon with this name."""
    return REGISTRY.by_name(name)


def small_config(**overrides: Any) -> EvolutionConfig:
    """A quick configuration (small islands, few generations) with overrides."""
    values: dict[str, Any] = {"population": 12, "generations": 3, "epoch_generations": 2, "seed": 3}
    values.update(overrides)
    return EvolutionConfig(**values)


def engine(problem: Problem | None = None, **overrides: Any) -> Engine:
    """An engine on koza-quartic (or `problem`) with an in-memory Gene Pool."""
    return Engine(problem if problem is not None else KozaQuartic(), small_config(**overrides))


def record(e: Engine) -> EpochRecord:
    """An empty epoch record for the engine's problem."""
    return EpochRecord(problem=e.problem_id)


def square_plus_x(e: Engine) -> GeneticCode:
    """x*x + x assembled into the engine's store (a float GC with one float input)."""
    mul = codon("float_mul")
    return Assembler(e.store, [FLOAT]).assemble(
        Expr(codon("float_add"), (Expr(mul, (Expr(None, (), 0), Expr(None, (), 0))), Expr(None, (), 0)))
    )


def composite_pgc(
    e: Engine, made_by: bytes | None, first: str = "pgc_stack", then: str = "pgc_wrap"
) -> GeneticCode:
    """A composite pGC `then(first(x))` kept in the engine's store, recording `made_by` as its maker."""
    expr = Expr(codon(then), (Expr(codon(first), (Expr(None, (), 0),)),))
    plain = Assembler(e.store, [GCABC]).assemble(expr)
    gca = e.lookup(plain.gca) if plain.gca else None
    gcb = e.lookup(plain.gcb) if plain.gcb else None
    gc = build_gc(plain.graph, gca, gcb, pgc=made_by, ancestora=plain.signature)
    e.store[gc.signature] = gc
    return gc


class BadKoza(KozaQuartic):
    """Koza-quartic whose assessment misbehaves on some programs: raises, returns NaN or returns 1.7."""

    name = "bad-koza"
    mode = "raise"

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """The normal assessment, except for programs whose output at case 0 is above the median target."""
        good = super().assess(outputs)
        y = np.broadcast_to(np.asarray(outputs[0], dtype=np.float64), (self.cases().count,))
        if not (math.isfinite(float(y[0])) and float(y[0]) > 0.0):
            return good
        if self.mode == "raise":
            raise RuntimeError("the fitness function broke")
        if self.mode == "nan":
            return Assessment(float("nan"), False)
        return Assessment(1.7, False)


class Constant(Problem):
    """float -> float with 4 cases, scored by a closeness to 1.0 (for small hand-checked evaluations)."""

    name = "constant-one"
    inputs = ("float",)
    outputs = ("float",)
    codons = ("float_add", "float_mul", "float_sub", "lit_float_1", "lit_float_0_5")

    def make_cases(self) -> FitnessCases:
        """Four x values."""
        return FitnessCases(inputs=(np.array([0.0, 1.0, 2.0, 3.0]),), count=4)

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        """1 / (1 + mean |y - 1|)."""
        y = np.broadcast_to(np.asarray(outputs[0], dtype=np.float64), (4,))
        error = float(np.mean(np.abs(y - 1.0)))
        if not math.isfinite(error):
            return Assessment(0.0, False)
        return Assessment(1.0 / (1.0 + error), error == 0.0)
