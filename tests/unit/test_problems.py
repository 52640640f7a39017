"""Tests for the problem plug-in API, the shipped problems and the registry."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from egp.errors import EGPError
from egp.problems import (
    Assessment,
    FitnessCases,
    Problem,
    ProblemError,
    get_problem,
    list_problems,
    problem_names,
    safe_assess,
    scalar_assess,
)
from egp.problems.tic_tac_toe import (
    INITIAL_STATE,
    case_fitness,
    distance,
    generate_state_graph,
    is_terminal,
    next_states,
    winner,
)

BUILTIN = (
    "koza-quartic",
    "nguyen-1",
    "nguyen-5",
    "even-parity-3",
    "even-parity-5",
    "multiplexer-6",
    "number-tree",
    "tic-tac-toe-next-state",
    "koza-quintic-100k",
)


def _parity(*bits: Any) -> Any:
    ones = sum(np.asarray(b, dtype=np.int64) for b in bits)
    return ones % 2 == 0


def _first_legal_move(state: str) -> str:
    return next_states(state)[0]


# Hand-written correct and wrong programs over the case columns (plain Python / numpy).
CORRECT: dict[str, Any] = {
    "koza-quartic": lambda x: x**4 + x**3 + x**2 + x,
    "nguyen-1": lambda x: x * (1 + x * (1 + x)),
    "nguyen-5": lambda x: np.sin(x * x) * np.cos(x) - 1,
    "even-parity-3": _parity,
    "even-parity-5": _parity,
    "multiplexer-6": lambda a0, a1, d0, d1, d2, d3: np.where(a1, np.where(a0, d3, d2), np.where(a0, d1, d0)),
    "number-tree": lambda x, y: (y + y + y + y + y + y + y + y) - (x + x),
    "tic-tac-toe-next-state": lambda states: tuple(_first_legal_move(s) for s in states),
    "koza-quintic-100k": lambda x: x * (1 + x * x * (x * x - 2)),
}
WRONG: dict[str, Any] = {
    "koza-quartic": lambda x: x**3 + x**2 + x,
    "nguyen-1": lambda x: x**2 + x,
    "nguyen-5": lambda x: np.sin(x) - 1,
    "even-parity-3": lambda a, b, c: a & b,
    "even-parity-5": lambda *bits: ~_parity(*bits[1:]),
    "multiplexer-6": lambda a0, a1, d0, d1, d2, d3: d0,
    "number-tree": lambda x, y: y + y + y + y + y + y + y + y - x,
    "tic-tac-toe-next-state": lambda states: states,
    "koza-quintic-100k": lambda x: x**5 - 2 * x**3,
}


@pytest.mark.parametrize("name", BUILTIN)
def test_correct_program_solves(name: str) -> None:
    problem = get_problem(name)
    outputs = (CORRECT[name](*problem.cases().inputs),)
    assessment, reason = safe_assess(problem, outputs)
    assert reason is None
    assert assessment == Assessment(1.0, True)


@pytest.mark.parametrize("name", BUILTIN)
def test_wrong_program_is_not_solved(name: str) -> None:
    problem = get_problem(name)
    outputs = (WRONG[name](*problem.cases().inputs),)
    assessment, reason = safe_assess(problem, outputs)
    assert reason is None
    assert 0.0 <= assessment.fitness < 1.0
    assert not assessment.solved


@pytest.mark.parametrize("name", BUILTIN)
def test_interface_and_cases(name: str) -> None:
    problem = get_problem(name)
    assert problem.name == name
    cases = problem.cases()
    assert cases is problem.cases()
    assert isinstance(cases, FitnessCases)
    assert len(cases.inputs) == len(problem.inputs)
    for column in cases.inputs:
        assert len(column) == cases.count
        if problem.vectorised:
            assert isinstance(column, np.ndarray)
        else:
            assert isinstance(column, tuple)
    assert len(problem.identity) == 32
    assert problem.identity is problem.identity
    assert problem.codons is None or all(isinstance(c, str) for c in problem.codons)


def test_case_counts() -> None:
    counts = {name: get_problem(name).cases().count for name in BUILTIN}
    assert counts == {
        "koza-quartic": 20,
        "nguyen-1": 20,
        "nguyen-5": 20,
        "even-parity-3": 8,
        "even-parity-5": 32,
        "multiplexer-6": 64,
        "number-tree": 8,
        "tic-tac-toe-next-state": 256,
        "koza-quintic-100k": 100_000,
    }


def test_koza_points_match_deap() -> None:
    (x,) = get_problem("koza-quartic").cases().inputs
    assert x.tolist() == [k / 10.0 for k in range(-10, 10)]


def test_koza_fitness_and_hits() -> None:
    problem = get_problem("koza-quartic")
    (x,) = problem.cases().inputs
    target = x**4 + x**3 + x**2 + x
    # Every point within 0.01: solved, fitness exactly 1.
    assert problem.assess((target + 0.009,)) == Assessment(1.0, True)
    # One point off by 0.02: not solved, fitness 1/(1 + MAE).
    off = target.copy()
    off[3] += 0.02
    assessment = problem.assess((off,))
    assert not assessment.solved
    assert assessment.fitness == pytest.approx(1.0 / (1.0 + 0.02 / 20))
    # A non-finite output anywhere scores 0.
    bad = target.copy()
    bad[0] = np.inf
    assert problem.assess((bad,)) == Assessment(0.0, False)
    assert problem.assess((np.full(20, np.nan),)) == Assessment(0.0, False)


def test_constant_program_broadcasts() -> None:
    koza = get_problem("koza-quartic")
    assessment = koza.assess((0.0,))
    (x,) = koza.cases().inputs
    expected = 1.0 / (1.0 + float(np.mean(np.abs(x**4 + x**3 + x**2 + x))))
    assert assessment.fitness == pytest.approx(expected)
    parity = get_problem("even-parity-3")
    assert parity.assess((True,)).fitness == 0.5
    assert get_problem("number-tree").assess((0,)).fitness == 0.0
    ttt = get_problem("tic-tac-toe-next-state")
    assert 0.0 < ttt.assess(("         X",)).fitness < 1.0


def test_number_tree_fitness_formula() -> None:
    problem = get_problem("number-tree")
    xs, ys = problem.cases().inputs
    assert (int(xs[0]), int(ys[0])) == (3, 5)
    z = 8 * ys - 2 * xs
    off = z.copy()
    off[0] = z[0] + 11  # Z = 34 for (3, 5): case score 1 - (11/34)^2
    assessment = problem.assess((off,))
    assert assessment.fitness == pytest.approx((7 + 1 - (11 / 34) ** 2) / 8)
    assert not assessment.solved
    # Far off: clamped at 0 per case, never negative.
    assert problem.assess((z * 100,)).fitness == 0.0


def test_boolean_fitness_is_fraction_of_rows() -> None:
    problem = get_problem("even-parity-5")
    columns = problem.cases().inputs
    target = _parity(*columns)
    wrong = target.copy()
    wrong[:4] = ~wrong[:4]
    assert problem.assess((wrong,)) == Assessment(28 / 32, False)
    mux = get_problem("multiplexer-6")
    a0, a1, d0, d1, d2, d3 = mux.cases().inputs
    # Row where a0=1, a1=0 selects d1.
    row = int(np.flatnonzero(a0 & ~a1 & d1 & ~d0 & ~d2 & ~d3)[0])
    assert bool(mux.cases().targets[0][row]) is True


def test_scalar_assess_runs_per_case() -> None:
    assert scalar_assess(get_problem("koza-quartic"), lambda x: x**4 + x**3 + x**2 + x) == (
        Assessment(1.0, True),
        None,
    )
    assert scalar_assess(get_problem("number-tree"), lambda x, y: 8 * y - 2 * x)[0].solved
    assert scalar_assess(get_problem("multiplexer-6"), lambda a0, a1, *d: d[a0 + 2 * a1])[0].solved
    ttt = get_problem("tic-tac-toe-next-state")
    assert scalar_assess(ttt, _first_legal_move) == (Assessment(1.0, True), None)
    assessment, reason = scalar_assess(ttt, lambda s: 1 / 0)
    assert assessment == Assessment(0.0, False)
    assert reason is not None and "ZeroDivisionError" in reason


class _Bad(Problem):
    name = "bad"
    inputs = ("float",)
    outputs = ("float",)

    def __init__(self, result: Any) -> None:
        self.result = result

    def make_cases(self) -> FitnessCases:
        return FitnessCases(inputs=(np.zeros(3),), count=3)

    def assess(self, outputs: Sequence[Any]) -> Assessment:
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("result", "fragment"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (Assessment(math.nan, False), "NaN"),
        (Assessment(1.5, True), "outside [0, 1]"),
        (Assessment(-0.1, False), "outside [0, 1]"),
        (Assessment(math.inf, False), "outside [0, 1]"),
        (0.5, "not Assessment"),
        (Assessment("0.5", False), "not a number"),  # type: ignore[arg-type]
    ],
)
def test_safe_assess_turns_failures_into_zero(result: Any, fragment: str) -> None:
    assessment, reason = safe_assess(_Bad(result), (np.zeros(3),))
    assert assessment == Assessment(0.0, False)
    assert reason is not None and fragment in reason


def test_safe_assess_catches_bad_output_shapes() -> None:
    assessment, reason = safe_assess(get_problem("koza-quartic"), (np.zeros(7),))
    assert assessment == Assessment(0.0, False)
    assert reason is not None and "shape" in reason
    assessment, reason = safe_assess(get_problem("even-parity-3"), ())
    assert assessment.fitness == 0.0 and reason is not None


def test_safe_assess_normalises_numpy_fitness() -> None:
    assessment, reason = safe_assess(_Bad(Assessment(np.float64(0.25), np.bool_(False))), (np.zeros(3),))  # type: ignore[arg-type]
    assert reason is None
    assert assessment == Assessment(0.25, False)
    assert type(assessment.fitness) is float and type(assessment.solved) is bool


def test_identities_differ_across_problems() -> None:
    identities = {get_problem(name).identity for name in BUILTIN}
    assert len(identities) == len(BUILTIN)


_IDENTITY_SCRIPT = (
    "from egp.problems import get_problem\n"
    f"for n in {BUILTIN!r}:\n"
    "    print(n, get_problem(n).identity.hex())\n"
)


def test_identity_stable_across_processes() -> None:
    outputs = []
    for seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _IDENTITY_SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    here = "".join(f"{n} {get_problem(n).identity.hex()}\n" for n in BUILTIN)
    assert outputs[0] == here


def test_identity_depends_on_version_and_data() -> None:
    class Koza2(type(get_problem("koza-quartic"))):  # type: ignore[misc]
        version = "2"

    assert Koza2().identity != get_problem("koza-quartic").identity

    class Shifted(type(get_problem("koza-quartic"))):  # type: ignore[misc]
        def points(self) -> Any:
            return np.arange(-10, 10, dtype=np.float64) / 10.0 + 0.05

    assert Shifted().identity != get_problem("koza-quartic").identity


# --- tic-tac-toe -------------------------------------------------------------------------------------------


def test_state_graph() -> None:
    graph = generate_state_graph()
    assert len(graph) == 5478  # all reachable positions, the empty board included
    assert sum(1 for successors in graph.values() if successors) == 4520
    assert graph[INITIAL_STATE] == tuple(" " * i + "X" + " " * (8 - i) + "X" for i in range(9))
    for state, successors in graph.items():
        assert len(state) == 10
        assert bool(successors) == (not is_terminal(state))


def test_winner_and_terminal() -> None:
    assert winner("XXXOO    X") == "X"
    assert winner("XO XO X OX") == "X"
    assert winner("O X O X  O") is None
    assert is_terminal("XOXXOOOXXX")  # full board
    assert not is_terminal("X        X")
    assert next_states("X        X")[0] == "XO       O"


@pytest.mark.parametrize(
    ("output", "target", "expected"),
    [
        ("X        X", "X        X", 0),
        ("O        X", "X        X", 1),  # another valid char
        ("?        X", "X        X", 3),  # invalid char
        ("X        ", "X        X", 4),  # one missing char
        ("", "X        X", 40),  # all ten missing
        ("X        X ", "X        X", 2),  # one valid extra char
        ("X        X!", "X        X", 4),  # one invalid extra char
        ("O       ?XO!", "X        X", 1 + 3 + 0 + 2 + 4),  # O≠X, ?≠space, X=X, extras O and !
        ("XO", "X        X", 0 + 1 + 4 * 8),  # X=X, O≠space, eight missing
    ],
)
def test_distance(output: str, target: str, expected: int) -> None:
    assert distance(output, target) == expected


def test_case_fitness() -> None:
    state = "X        X"
    assert case_fitness(state, "XO       O") == 1.0  # legal
    assert case_fitness(state, state) == 0.0  # unchanged
    assert case_fitness(state, "XO       X") == 0.5  # one char from a legal state
    assert case_fitness(state, 42) == 0.0  # not a str
    assert case_fitness("XXXOO    X", "XXXOOO   O") == 0.0  # game already over
    # Min over legal next states: "XOO      O" is one away from "XO       O" and from "X O      O".
    assert case_fitness(state, "XOO      O") == 0.5


# --- registry ----------------------------------------------------------------------------------------------


def test_registry_lists_builtins() -> None:
    names = [p.name for p in list_problems()]
    assert names[: len(BUILTIN)] == list(BUILTIN)
    assert set(BUILTIN) <= set(problem_names())
    assert get_problem("koza-quartic") is get_problem("koza-quartic")


def test_unknown_problem_is_one_clear_error() -> None:
    with pytest.raises(ProblemError) as info:
        get_problem("koza-quintic")
    message = str(info.value)
    assert isinstance(info.value, EGPError)
    assert "\n" not in message
    assert "unknown problem 'koza-quintic'" in message
    assert "koza-quartic" in message


@pytest.mark.parametrize(
    ("ref", "fragment"),
    [
        ("no_such_module_xyz:thing", "cannot import module 'no_such_module_xyz'"),
        ("egp.problems.regression:missing", "has no attribute 'missing'"),
        ("egp.problems.regression:HIT_TOLERANCE", "not a Problem"),
        ("egp.problems.base:Problem", "abstract"),
        ("egp.problems.base:Assessment", "not a subclass of egp.problems.Problem"),
        (":x", "expected 'module:attribute'"),
        ("", "no problem given"),
    ],
)
def test_bad_reference_is_one_clear_error(ref: str, fragment: str) -> None:
    with pytest.raises(ProblemError) as info:
        get_problem(ref)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_module_attribute_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    import types

    module = types.ModuleType("user_problems_for_test")
    instance = _Bad(Assessment(0.5, False))
    module.holder = types.SimpleNamespace(problem=instance)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "user_problems_for_test", module)
    assert get_problem("user_problems_for_test:holder.problem") is instance
    problem = get_problem("egp.problems.regression:Nguyen1")
    assert problem.name == "nguyen-1"


def test_entry_point_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import EntryPoint

    from egp.problems import registry

    fake = {
        "my-problem": EntryPoint("my-problem", "egp.problems.boolean:EvenParity3", "egp.problems"),
        "broken": EntryPoint("broken", "no_such_module_xyz:P", "egp.problems"),
    }
    monkeypatch.setattr(registry, "_entry_points", lambda: fake)
    monkeypatch.setattr(registry, "_instances", {})
    assert get_problem("my-problem").name == "even-parity-3"
    assert "my-problem" in problem_names()
    with pytest.raises(ProblemError, match="entry point 'broken'"):
        get_problem("broken")
    from egp.problems.families import FAMILIES

    members = {m for family in FAMILIES for m in family.members} - set(BUILTIN)
    assert len(list_problems()) == len(BUILTIN) + len(members) + 1


# --- families ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "family", "parameters", "rows"),
    [
        ("even-parity-4", "even-parity", {"n": 4}, 16),
        ("even-parity-8", "even-parity", {"n": 8}, 256),
        ("multiplexer-11", "multiplexer", {"k": 11}, 2048),
        ("polynomial-2", "polynomial", {"n": 2}, 20),
        ("nguyen-8", "nguyen", {"n": 8}, 20),
        ("number-tree-3-5-44", "number-tree", {"x": 3, "y": 5, "z": 44}, 1),
    ],
)
def test_a_family_member_resolves_by_name(
    name: str, family: str, parameters: dict[str, int], rows: int
) -> None:
    """Each instance is its own problem with its family, parameters and cases."""
    problem = get_problem(name)
    assert (problem.name, problem.family, dict(problem.parameters)) == (name, family, parameters)
    assert problem.cases().count == rows


def test_family_members_keep_the_shipped_identities() -> None:
    """koza-quartic is polynomial-4, and even-parity-3/5, multiplexer-6, nguyen-1/5 are family members
    with the identities they always had."""
    assert get_problem("polynomial-4").identity == get_problem("koza-quartic").identity
    assert get_problem("koza-quartic").family == "polynomial"
    for name in ("even-parity-3", "even-parity-5", "multiplexer-6", "nguyen-1", "nguyen-5"):
        assert get_problem(name).family is not None
    identities = {get_problem(n).identity for n in ("even-parity-3", "even-parity-4", "even-parity-6")}
    assert len(identities) == 3


def test_family_targets_are_right() -> None:
    """Spot checks of the targets: parity rows, the addressed data bit, the polynomial and Nguyen-7."""
    parity4 = get_problem("even-parity-4").cases()
    assert parity4.targets[0].tolist()[:4] == [True, False, False, True]
    mux = get_problem("multiplexer-11").cases()
    row = 0b101 | (1 << (3 + 5))  # address 5 (a0 = 1, a2 = 1), data bit 5 set
    columns = [bool((row >> b) & 1) for b in range(11)]
    index = sum(int(v) << (10 - b) for b, v in enumerate(columns))  # truth-table row, column 0 high bit
    assert bool(mux.targets[0][index]) is True
    poly = get_problem("polynomial-3").cases()
    x = poly.inputs[0]
    assert np.allclose(poly.targets[0], x + x**2 + x**3)
    nguyen7 = get_problem("nguyen-7").cases()
    x7 = nguyen7.inputs[0]
    assert float(x7.min()) >= 0.0 and float(x7.max()) <= 2.0
    assert np.allclose(nguyen7.targets[0], np.log(x7 + 1) + np.log(x7**2 + 1))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("even-parity-2", "even-parity-N needs N in 3…8"),
        ("even-parity-9", "even-parity-N needs N in 3…8"),
        ("multiplexer-7", "multiplexer-K needs K = k + 2^k"),
        ("polynomial-1", "polynomial-N needs N in 2…8"),
        ("nguyen-0", "nguyen-N needs N in 1…8"),
        ("number-tree-1-2-0", "Z ≠ 0"),
    ],
)
def test_a_family_name_out_of_range_is_one_clear_error(name: str, message: str) -> None:
    """A family name with bad parameters names the family's range."""
    with pytest.raises(ProblemError) as info:
        get_problem(name)
    assert message in str(info.value) and "\n" not in str(info.value)
