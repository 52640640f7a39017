"""Codons as Python callables, made once per process from the trusted registry's templates only.

A codon's template (`{i0} + {i1}`) becomes a function: a C operator or a runtime helper called directly where
the template is exactly that, otherwise a lambda over the template. The namespace holds only the runtime
helpers (and, for pGC codons, the physics functions): templates come from the registry, never from a GC.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from egp.genetic_code.codon_runtime import RUNTIME_NAMES
from egp.genetic_code.gc import GeneticCode

_PLACEHOLDER = re.compile(r"\{i(\d+)\}")


def render(template: str, names: Sequence[str]) -> str:
    """The template with its inputs {i0}, {i1}, … replaced by `names`."""
    return _PLACEHOLDER.sub(lambda m: names[int(m.group(1))], template)


_CODON_FUNCTIONS: dict[bytes, tuple[Callable[..., Any], str, int]] = {}


# Templates that are exactly one binary/unary operator, and their C implementations: calling operator.add
# directly saves a Python frame per codon call on the hot path (same semantics as the inline expression).
_OPERATORS: dict[str, Callable[..., Any]] = {
    "{i0} + {i1}": operator.add,
    "{i0} - {i1}": operator.sub,
    "{i0} * {i1}": operator.mul,
    "{i0} & {i1}": operator.and_,
    "{i0} | {i1}": operator.or_,
    "{i0} ^ {i1}": operator.xor,
    "{i0} < {i1}": operator.lt,
    "{i0} <= {i1}": operator.le,
    "{i0} > {i1}": operator.gt,
    "{i0} >= {i1}": operator.ge,
    "{i0} == {i1}": operator.eq,
    "{i0} != {i1}": operator.ne,
    "-{i0}": operator.neg,
}
_CALL = re.compile(r"([A-Za-z_]\w*)\((.*)\)")


def _direct_function(template: str, arity: int, namespace: dict[str, Any]) -> Callable[..., Any] | None:
    """A callable equivalent to the template without a wrapper: an operator, or a helper called in order."""
    direct = _OPERATORS.get(template)
    if direct is not None:
        return direct
    match = _CALL.fullmatch(template)
    if match and match.group(2) == ", ".join(f"{{i{k}}}" for k in range(arity)) and arity > 0:
        helper = namespace.get(match.group(1))
        if callable(helper):
            return cast("Callable[..., Any]", helper)
    return None


def codon_function(codon: GeneticCode) -> tuple[Callable[..., Any], str, int]:
    """The callable, template and arity of a codon, compiled once per process from its trusted template."""
    cached = _CODON_FUNCTIONS.get(codon.signature)
    if cached is not None:
        return cached
    info = codon.codon
    if info is None:
        raise ValueError(f"{codon!r} is not a codon")
    arity = len(codon.inputs)
    params = [f"i{k}" for k in range(arity)]
    expression = render(info.inline, params)
    # The namespace is the runtime helpers (and, for pGC codons, the physics functions) only: templates come
    # from the trusted registry, never from a GC.
    namespace = dict(RUNTIME_NAMES)
    if codon.is_pgc:
        from egp.physics.registry import PHYSICS_NAMES  # physics imports execution: import on first use

        namespace.update(PHYSICS_NAMES)
    fn = _direct_function(info.inline, arity, namespace)
    if fn is None:
        fn = eval(f"lambda {', '.join(params)}: {expression}", namespace)
    result = (fn, info.inline, arity)
    _CODON_FUNCTIONS[codon.signature] = result
    return result


_CODON_FORMATS: dict[bytes, str] = {}


def codon_format(codon: GeneticCode) -> str:
    """The codon's template as a parenthesised positional format string: `{i0} + {i1}` → `({0} + {1})`."""
    fmt = _CODON_FORMATS.get(codon.signature)
    if fmt is None:
        assert codon.codon is not None
        escaped = codon.codon.inline.replace("{", "{{").replace("}", "}}")
        fmt = "(" + re.sub(r"\{\{i(\d+)\}\}", r"{\1}", escaped) + ")"
        _CODON_FORMATS[codon.signature] = fmt
    return fmt
