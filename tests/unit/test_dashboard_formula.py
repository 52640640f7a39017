"""The dashboard's formula of a program (straight-line source substituted into one expression per output),
its id checks and its figures: unit tests, with hypothesis for the invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.dashboard.figures import figures
from egp.dashboard.formula import MAX_NODES, formula
from egp.dashboard.ids import MalformedIdError, check_run_id, parse_signature
from egp.genetic_code.codon_runtime import pdiv

OPERATORS = ("+", "-", "*")


@st.composite
def straight_line_programs(draw: st.DrawFn) -> str:
    """A random straight-line function of i0, i1 with + - * and pdiv, as `egp evolve` writes programs."""
    names = ["i0", "i1"]
    lines = []
    for index in range(draw(st.integers(1, 8))):
        left, right = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if draw(st.booleans()):
            expression = f"pdiv({left}, {right})"
        else:
            expression = f"{left} {draw(st.sampled_from(OPERATORS))} {right}"
        lines.append(f"    t{index} = {expression}")
        names.append(f"t{index}")
    body = "\n".join(lines)
    return f'"""A program."""\n\ndef gc_test(i0, i1):\n{body}\n    return {names[-1]}\n'


@settings(max_examples=200, deadline=None)
@given(straight_line_programs(), st.floats(-3, 3), st.floats(-3, 3))
def test_the_formula_computes_what_the_source_computes(source: str, x: float, y: float) -> None:
    """Evaluating the formula's right-hand side gives the program's output, for any inputs."""
    found = formula(source)
    assert found is not None and len(found) == 1
    name, expression = found[0].split(" = ", 1)
    assert name == "f(i0, i1)"
    namespace: dict[str, object] = {"pdiv": pdiv}
    exec(source, namespace)
    expected = namespace["gc_test"](x, y)  # type: ignore[operator]
    got = eval(expression, {"pdiv": pdiv}, {"i0": x, "i1": y})
    assert got == expected or (math.isnan(got) and math.isnan(expected)) or math.isclose(got, expected)


def test_a_formula_substitutes_assignments_into_the_output() -> None:
    source = "def g(i0):\n    t0 = i0 * i0\n    t1 = i0 + t0\n    return t1\n"
    assert formula(source) == ["f(i0) = i0 + i0 * i0"]


def test_several_outputs_give_several_formulas() -> None:
    source = "def g(i0):\n    t0 = i0 + 1\n    return (t0, t0 * 2)\n"
    assert formula(source) == ["f0(i0) = i0 + 1", "f1(i0) = (i0 + 1) * 2"]


def test_an_exploding_formula_is_not_given() -> None:
    """Each line doubles the formula: past MAX_NODES there is none rather than a huge one."""
    lines = "".join(f"    t{i + 1} = t{i} * t{i}\n" for i in range(12))
    source = f"def g(i0):\n    t0 = i0 + i0\n{lines}    return t12\n"
    assert MAX_NODES < 2**12
    assert formula(source) is None


@pytest.mark.parametrize("source", ["def g(:\n", "x = 1\n", "def g(i0):\n    if i0:\n        return 1\n"])
def test_what_is_not_one_straight_line_function_has_no_formula(source: str) -> None:
    assert formula(source) is None


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=64, max_size=64))
def test_any_64_hex_digits_are_a_signature(text: str) -> None:
    assert parse_signature(text) == bytes.fromhex(text)


@given(
    st.text(max_size=80).filter(lambda t: len(t) != 64 or any(c not in "0123456789abcdefABCDEF" for c in t))
)
def test_anything_else_is_a_malformed_signature(text: str) -> None:
    with pytest.raises(MalformedIdError, match="malformed signature"):
        parse_signature(text)


@pytest.mark.parametrize("text", ["", "a b", "x" * 65, "../etc", "id;drop", "é"])
def test_malformed_run_ids(text: str) -> None:
    with pytest.raises(MalformedIdError, match="malformed run or job id"):
        check_run_id(text)


def test_figures_have_a_trace_per_island_and_layer() -> None:
    """Two islands of a run give best and mean traces each; pGC layers give one trace per layer; a history
    without stillborn figures (a job's recorded before its epochs carried them) has no stillborn plot."""
    points = [
        {
            "island": island,
            "generation": generation,
            "best": 0.1 * generation,
            "mean": 0.05 * generation,
            "evaluations": 100 * generation,
            "seconds": generation + island / 2,
            "evals_per_s": 100.0,
            "stillborn_rate": 0.1,
            "pgc_layers": [{"layer": 0, "above_neutral": 0.5, "evolvability": 0.1}] * 1
            + [{"layer": 1, "above_neutral": 0.25, "evolvability": 0.0}],
        }
        for generation in range(1, 4)
        for island in range(2)
    ]
    drawn = figures(points, islands_at_once=False)
    assert set(drawn) == {"fitness", "rate", "stillborn", "pgc_share", "pgc_evolvability"}
    assert [t["name"] for t in drawn["fitness"]["data"]] == [
        "island 0 best",
        "island 0 mean",
        "island 1 best",
        "island 1 mean",
    ]
    assert drawn["fitness"]["data"][2]["y"] == pytest.approx([0.1, 0.2, 0.3])
    assert len(drawn["pgc_share"]["data"]) == 2
    job_points = [{k: v for k, v in p.items() if k not in ("stillborn_rate", "pgc_layers")} for p in points]
    assert set(figures(job_points)) == {"fitness", "rate"}
