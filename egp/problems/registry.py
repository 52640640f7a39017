"""Find problems by name: built-ins, `egp.problems` entry points, `module:attribute` references and saved
tables (`tabular:<path>`, see egp/problems/tabular.py)."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from egp.problems.base import Problem, ProblemError
from egp.problems.boolean import EvenParity3, EvenParity5, Multiplexer6
from egp.problems.families import FAMILIES, resolve_family_member
from egp.problems.number_tree import NumberTree
from egp.problems.regression import KozaQuartic, KozaQuintic100k, Nguyen1, Nguyen5
from egp.problems.tabular import TABULAR_SCHEME, TabularRegression
from egp.problems.tic_tac_toe import TicTacToeNextState

#: The entry-point group third-party packages use to register problems.
ENTRY_POINT_GROUP = "egp.problems"

#: The built-in problem classes by name.
BUILTIN_PROBLEMS: dict[str, type[Problem]] = {
    cls.name: cls
    for cls in (
        KozaQuartic,
        Nguyen1,
        Nguyen5,
        EvenParity3,
        EvenParity5,
        Multiplexer6,
        NumberTree,
        TicTacToeNextState,
        KozaQuintic100k,
    )
}

_instances: dict[str, Problem] = {}


def _entry_points() -> dict[str, EntryPoint]:
    """Return the installed `egp.problems` entry points by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def _as_problem(obj: Any, where: str) -> Problem:
    """Turn a Problem instance, Problem subclass or zero-argument factory into a Problem."""
    if isinstance(obj, Problem):
        return obj
    if inspect.isclass(obj):
        if not issubclass(obj, Problem):
            raise ProblemError(f"{where} is the class {obj.__name__}, not a subclass of egp.problems.Problem")
        if inspect.isabstract(obj):
            raise ProblemError(f"{where} is the abstract class {obj.__name__}; give a concrete problem")
        try:
            return obj()
        except Exception as exc:
            raise ProblemError(f"{where}: creating {obj.__name__}() failed: {exc}") from exc
    if callable(obj):
        try:
            made = obj()
        except Exception as exc:
            raise ProblemError(f"{where}: calling the factory failed: {exc}") from exc
        if isinstance(made, Problem):
            return made
        raise ProblemError(f"{where}: the factory returned {type(made).__name__}, not a Problem")
    raise ProblemError(f"{where} is of type {type(obj).__name__}, not a Problem, Problem class or factory")


def _validate(problem: Problem, where: str) -> Problem:
    """Check that a loaded problem declares a name and a well-formed interface."""
    name = getattr(problem, "name", None)
    if not isinstance(name, str) or not name:
        raise ProblemError(f"{where} has no name")
    for kind in ("inputs", "outputs"):
        types = getattr(problem, kind, None)
        if not isinstance(types, tuple) or not all(isinstance(t, str) for t in types):
            raise ProblemError(f"{where} ({name}) must declare {kind} as a tuple of type names")
    return problem


def _load_reference(ref: str) -> Problem:
    """Import `module:attribute` (attribute may be dotted) and turn it into a Problem."""
    module_name, _, attribute = ref.partition(":")
    if not module_name or not attribute:
        raise ProblemError(f"bad problem reference {ref!r}: expected 'module:attribute'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ProblemError(f"problem reference {ref!r}: cannot import module {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ProblemError(
                f"problem reference {ref!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from None
    return _validate(_as_problem(obj, f"problem reference {ref!r}"), f"problem reference {ref!r}")


def _load_entry_point(entry: EntryPoint) -> Problem:
    """Load one `egp.problems` entry point and turn it into a Problem."""
    where = f"entry point {entry.name!r} ({entry.value})"
    try:
        obj = entry.load()
    except Exception as exc:
        raise ProblemError(f"{where} cannot be loaded: {exc}") from exc
    return _validate(_as_problem(obj, where), where)


def problem_names() -> list[str]:
    """Return the names of the built-in and entry-point problems and the families' patterns, sorted."""
    patterns = [f"{family.name}-{'-'.join(p.upper() for p in family.parameters)}" for family in FAMILIES]
    return sorted(set(BUILTIN_PROBLEMS) | set(_entry_points())) + patterns


def get_problem(name_or_ref: str) -> Problem:
    """Return the problem with this name (built-in or entry point) or `module:attribute` reference."""
    if not isinstance(name_or_ref, str) or not name_or_ref.strip():
        raise ProblemError(f"no problem given; known problems: {', '.join(problem_names())}")
    key = name_or_ref.strip()
    if key in _instances:
        return _instances[key]
    family_member = None if key in BUILTIN_PROBLEMS or ":" in key else resolve_family_member(key)
    if key in BUILTIN_PROBLEMS:
        problem: Problem = BUILTIN_PROBLEMS[key]()
    elif family_member is not None:
        problem = family_member
    elif key.startswith(TABULAR_SCHEME):
        problem = TabularRegression.load(key)
    elif ":" in key:
        problem = _load_reference(key)
    else:
        found = _entry_points().get(key)
        if found is None:
            raise ProblemError(
                f"unknown problem {key!r}; known problems: {', '.join(problem_names())} "
                "(or give a 'module:attribute' reference)"
            )
        problem = _load_entry_point(found)
    _instances[key] = problem
    return problem


def list_problems() -> list[Problem]:
    """Return the built-in problems, the members of every family, then the loadable entry-point problems
    (broken ones are skipped)."""
    names = list(dict.fromkeys([*BUILTIN_PROBLEMS, *(m for family in FAMILIES for m in family.members)]))
    problems = [get_problem(name) for name in names]
    for name in sorted(_entry_points()):
        if name in names:
            continue
        try:
            problems.append(get_problem(name))
        except ProblemError:
            continue
    return problems
