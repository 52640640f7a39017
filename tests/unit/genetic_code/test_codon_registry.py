"""The shipped codon registry: size, uniqueness, signatures, and every codon running through the Executor."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from gc_test_support import BOOL, FLOAT, INT, REGISTRY, column, columns_equal, reference_eval, same

from egp.genetic_code.codons import CodonDefinitionError, CodonRegistry, codon_registry
from egp.genetic_code.execution import Executor
from egp.genetic_code.gc import SHAPEDSUNDEW9_UUID, GeneticCode
from egp.genetic_code.properties import CGraphType, GCType, gc_type_of, graph_type_of
from egp.genetic_code.types import TYPES

# Three cases per type, chosen to hit edge values (zero divisors, negatives, empty sequences).
SAMPLES: dict[str, list[Any]] = {
    "float": [0.0, -1.5, 2.25],
    "int": [0, -7, 3],
    "bool": [True, False, True],
    "str": ["", "abc", "Xo X"],
    "list[int]": [[], [1, 2, 3], [-4]],
    "list[float]": [[], [0.5, -1.0], [2.0]],
    "list[str]": [[], ["a", "b"], ["X"]],
    "object": [1, "a", 1],
}
LIBM_SENSITIVE = {"float_psin", "float_pcos", "float_pexp", "float_plog", "float_ppow"}


def test_at_least_60_unique_codons() -> None:
    """≥ 60 codons, unique names and signatures, 32-byte signatures, codon properties and sizes."""
    codons = list(REGISTRY)
    assert len(codons) >= 60
    assert len({c.name for c in codons}) == len(codons)
    assert len({c.signature for c in codons}) == len(codons)
    for gc in codons:
        assert len(gc.signature) == 32
        assert gc_type_of(gc.properties) is GCType.CODON
        assert graph_type_of(gc.properties) is CGraphType.PRIMITIVE
        assert (gc.code_depth, gc.num_codes, gc.num_codons, gc.generation) == (1, 1, 1, 1)
        assert gc.gca is gc.gcb is gc.ancestora is gc.ancestorb is None
        assert gc.creator == SHAPEDSUNDEW9_UUID
        assert REGISTRY.get(gc.signature) is gc and gc.signature in REGISTRY
        assert REGISTRY.by_name(gc.name) is gc
    assert codon_registry() is REGISTRY


def test_required_families_are_present() -> None:
    """The issue's minimum library: protected arithmetic, comparisons, logic, literals, strings, sequences."""
    names = set(REGISTRY.names())
    for name in (
        "float_pdiv",
        "int_floordiv",
        "int_mod",
        "float_ppow",
        "float_plog",
        "float_pexp",
        "float_lt",
        "bool_and",
        "bool_or",
        "bool_not",
        "bool_xor",
        "bool_select",
        "int_xor",
        "float_min",
        "float_max",
        "float_abs",
        "float_neg",
        "str_concat",
        "list_int_len",
    ):
        assert name in names, name
    literals = {REGISTRY.spec(n).inline for n in names if REGISTRY.spec(n).literal}
    assert {"-1", "0", "1", "2", "0.0", "0.5", "1.0", "2.0", "True", "False"} <= literals


def _inputs(gc: GeneticCode) -> list[list[Any]]:
    return [SAMPLES[TYPES.name(t)] for t in gc.inputs]


# pGC codons (mutation operators) take GCs and a runtime context: the physics tests run them.
DATA_CODONS = [name for name in codon_registry().names() if not codon_registry().spec(name).is_pgc]


@pytest.mark.parametrize("name", DATA_CODONS)
def test_every_codon_runs_on_scalars_and_arrays(name: str) -> None:
    """Scalar runs equal the template evaluated directly; vectorisable codons give the same on arrays."""
    gc = REGISTRY.by_name(name)
    executor = Executor({})
    fn = executor.scalar_function(gc)
    columns = _inputs(gc)
    cases = list(zip(*columns, strict=True)) if columns else [()] * 3
    results = []
    for case in cases:
        expected = reference_eval(gc, {}, case)
        assert same(fn(*case), expected[0]), (case, fn(*case), expected)
        assert all(same(a, b) for a, b in zip(executor.evaluate(gc, case), expected, strict=True))
        results.append(expected[0])
    if not REGISTRY.spec(name).vectorisable:
        return
    out_type = gc.outputs[0]
    if not gc.inputs:  # a literal: a constant that broadcasts, whatever its type
        assert all(same(value, executor.evaluate(gc, [])[0]) for value in results)
        return
    assert out_type in (FLOAT, INT, BOOL), name
    arrays = [column(values, t) for values, t in zip(columns, gc.inputs, strict=True)]
    (vector,) = executor.evaluate(gc, arrays)
    if name in LIBM_SENSITIVE:
        got = np.broadcast_to(vector, (3,))
        assert all(math.isclose(a, b, rel_tol=1e-12) or a == b for a, b in zip(got, results, strict=True))
    else:
        assert columns_equal(vector, results, out_type), (vector, results)


def _family(**codons: dict[str, Any]) -> str:
    return json.dumps(codons)


def _spec(inline: str = "{i0} + {i1}", **extra: Any) -> dict[str, Any]:
    return {"inline": inline, "inputs": ["int", "int"], "outputs": ["int"], "description": "d", **extra}


def test_a_small_registry_builds_from_files() -> None:
    """A registry from a dict of family files; keys starting with '_' are comments."""
    registry = CodonRegistry({"mine": _family(_comment={}, my_add=_spec(), my_sub=_spec("{i0} - {i1}"))})
    assert registry.names() == ["my_add", "my_sub"]
    assert registry.spec("my_add").family == "mine"
    assert registry.get(REGISTRY.by_name("int_add").signature) is None


def test_a_duplicate_codon_name_is_rejected() -> None:
    """The same name in two family files."""
    with pytest.raises(CodonDefinitionError, match="codon my_add is defined twice"):
        CodonRegistry({"a": _family(my_add=_spec()), "b": _family(my_add=_spec("{i1} + {i0}"))})


def test_an_identical_codon_under_another_name_is_rejected() -> None:
    """Two names for one definition would share a signature."""
    with pytest.raises(CodonDefinitionError, match="codons two and one are identical"):
        CodonRegistry({"a": _family(one=_spec(), two=_spec())})


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_spec(inputs=["int", "quaternion"]), "codon bad in f.json uses unknown type 'quaternion'"),
        (_spec("{i0} + {i2}"), "codon bad: template uses an input beyond its 2 inputs"),
        (_spec(outputs=[]), "codon bad has no outputs"),
        ({"inline": "1", "inputs": [], "outputs": ["int"]}, "codon bad in f.json lacks 'description'"),
        ("nope", "codon bad in f.json must be an object"),
    ],
)
def test_malformed_definitions_are_rejected(entry: Any, message: str) -> None:
    """Each malformed definition names the codon, the file and the problem."""
    with pytest.raises(CodonDefinitionError, match=message):
        CodonRegistry({"f": json.dumps({"bad": entry})})


def test_invalid_json_is_rejected() -> None:
    """A family file that is not JSON."""
    with pytest.raises(CodonDefinitionError, match=r"f\.json is not valid JSON"):
        CodonRegistry({"f": "{"})
