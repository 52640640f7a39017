"""A program as a readable formula: its source evaluated on sympy symbols, simplified, printed or in LaTeX.

Protected operations print as their ordinary counterparts — `pdiv(a, b)` as a/b, `plog(x)` as log|x|,
`psqrt(x)` as √|x| — and the protection (1 for a division by zero, 0 for log 0) is left out of the formula:
it changes the value only where the ordinary operation is undefined.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from egp.sklearn.model import FittedProgram

# Simplification of a large expression can take minutes; past this many operations it is only expanded
# partially (sympy's own tidying when the expression is built).
_SIMPLIFY_MAX_OPS = 60
_DIGITS = 6
_IMPORT = re.compile(r"^from egp\.genetic_code\.codon_runtime import .*$", re.MULTILINE)


def _symbolic_runtime() -> dict[str, Any]:
    """Stand-ins for the runtime helpers that build sympy expressions."""
    import sympy

    def pdiv(a: Any, b: Any) -> Any:
        return sympy.Integer(1) if b == 0 else a / b

    return {
        "pdiv": pdiv,
        "psin": sympy.sin,
        "pcos": sympy.cos,
        "pexp": sympy.exp,
        "plog": lambda x: sympy.log(sympy.Abs(x)),
        "psqrt": lambda x: sympy.sqrt(sympy.Abs(x)),
        "ppow": lambda a, b: sympy.Abs(a) ** b,
        "pmod": sympy.Mod,
        "abs": sympy.Abs,
        "max2": sympy.Max,
        "min2": sympy.Min,
    }


def sympy_expression(program: FittedProgram, feature_names: Sequence[str]) -> Any:
    """The scaled program offset + slope·f(features) as a sympy expression, simplified where affordable."""
    import sympy

    source = _IMPORT.sub("", program.source)
    namespace: dict[str, Any] = {"__builtins__": {}, **_symbolic_runtime()}
    exec(compile(source, "<egp program>", "exec"), namespace)
    name = next(key for key in namespace if key.startswith("gc_"))
    symbols = [sympy.Symbol(str(feature)) for feature in feature_names]
    body = namespace[name](*symbols)
    expression = sympy.Float(program.offset) + sympy.Float(program.slope) * sympy.sympify(body)
    if sympy.count_ops(expression) <= _SIMPLIFY_MAX_OPS:
        expression = sympy.simplify(expression)
    return _round_floats(expression)


def _round_floats(expression: Any) -> Any:
    """The expression with every float rounded to a few significant digits (whole numbers as integers)."""
    import sympy

    numbers = expression.atoms(sympy.Float)
    # Rounding noise of the least-squares offset (e.g. 1e-17 where the exact offset is 0) is dropped.
    noise = 1e-9 * max([1.0, *(abs(float(n)) for n in numbers)])
    replacements = {}
    for number in numbers:
        if abs(float(number)) < noise:
            replacements[number] = sympy.Integer(0)
            continue
        rounded = float(f"{float(number):.{_DIGITS}g}")
        replacements[number] = sympy.Integer(int(rounded)) if rounded.is_integer() else sympy.Float(rounded)
    return expression.xreplace(replacements)


def formula(program: FittedProgram, feature_names: Sequence[str]) -> str:
    """The program as a one-line formula in the feature names."""
    return str(sympy_expression(program, feature_names))


def latex(program: FittedProgram, feature_names: Sequence[str]) -> str:
    """The program's formula in LaTeX."""
    import sympy

    return str(sympy.latex(sympy_expression(program, feature_names)))
