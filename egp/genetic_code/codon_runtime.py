"""Trusted runtime helpers that codon templates may call.

Every helper works on Python scalars *and* elementwise on numpy arrays (float64 for ``float``, int64 for
``int``, bool arrays for ``bool``), including mixed scalar/array arguments (a literal broadcasts against an
array).  Helpers never raise and never overflow: for every input that the codon's interface type allows,
the scalar result equals the corresponding element of the array result.

Scalar fast paths test ``type(x) is float`` / ``type(x) is int`` first because these functions run millions
of times.  numpy floating-point warnings are silenced locally (``np.errstate``) inside each helper; plain
operator templates (``{i0} * {i1}``) evaluated on arrays can still overflow to ``inf``, so executors should
run vectorised programs inside :func:`quiet_numpy`.

Integer semantics are 64-bit two's complement everywhere: Python-int scalar results are wrapped with
:func:`wrap64` so they equal numpy int64 results.  ``bool`` is a subtype of ``int``: int helpers treat bool
inputs (scalars and bool arrays) as 0/1 integers.

:data:`RUNTIME_NAMES` maps every name a codon template may use to its object; code generators inject exactly
these names into the ``exec`` namespace (and emit ``from egp.genetic_code.codon_runtime import ...`` in
readable source).  It includes the three builtins templates use (``abs``, ``len``, ``sum``), re-exported
here so that such an import works even with restricted ``__builtins__``.
"""

from __future__ import annotations

import math
from builtins import abs as abs
from builtins import len as len
from builtins import sum as sum
from typing import Any, Final, TypeVar

import numpy as np

__all__ = [
    "EXP_CLIP",
    "INT64_MAX",
    "INT64_MIN",
    "RUNTIME_NAMES",
    "abs",
    "bnot",
    "char_at",
    "f2i",
    "iabs",
    "iadd",
    "idiv",
    "imod",
    "imul",
    "ineg",
    "isub",
    "len",
    "lnot",
    "max2",
    "min2",
    "pcos",
    "pdiv",
    "pexp",
    "plog",
    "pmod",
    "ppow",
    "psin",
    "psqrt",
    "quiet_numpy",
    "select",
    "seq_get",
    "seq_set",
    "shl",
    "shr",
    "str_set_char",
    "sum",
    "wrap64",
]

T = TypeVar("T")

INT64_MIN: Final[int] = -(2**63)
INT64_MAX: Final[int] = 2**63 - 1
_OFFSET: Final[int] = 2**63
_MASK64: Final[int] = 2**64 - 1
# Largest float64 strictly below 2**63 (2**63 - 1024): the upper saturation bound of f2i.
_F2I_MAX: Final[float] = 9223372036854774784.0
_F2I_MIN: Final[float] = -9223372036854775808.0
EXP_CLIP: Final[float] = 700.0
_NAN: Final[float] = math.nan
_INF: Final[float] = math.inf

_ndarray = np.ndarray
_errstate = np.errstate


def quiet_numpy() -> np.errstate:
    """Return a context manager silencing numpy floating-point warnings for vectorised evaluation."""
    return np.errstate(all="ignore")


# --------------------------------------------------------------------------------------------- integers


def wrap64(x: Any) -> Any:
    """Wrap an int scalar to 64-bit two's complement; identity on numpy arrays and in-range values."""
    if type(x) is int:
        if INT64_MIN <= x <= INT64_MAX:
            return x
        return ((x + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(x, _ndarray):
        return x
    x = int(x)
    if INT64_MIN <= x <= INT64_MAX:
        return x
    return ((x + _OFFSET) & _MASK64) - _OFFSET


def _as_int(x: Any) -> Any:
    """Array-path operand: bool arrays/scalars become int64/int, everything else is returned unchanged."""
    if isinstance(x, _ndarray):
        return x.astype(np.int64) if x.dtype.kind == "b" else x
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    return x


def iadd(a: Any, b: Any) -> Any:
    """Integer a + b wrapped to int64."""
    if type(a) is int and type(b) is int:
        r = a + b
        if INT64_MIN <= r <= INT64_MAX:
            return r
        return ((r + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return np.add(_as_int(a), _as_int(b))
    return wrap64(int(a) + int(b))


def isub(a: Any, b: Any) -> Any:
    """Integer a - b wrapped to int64."""
    if type(a) is int and type(b) is int:
        r = a - b
        if INT64_MIN <= r <= INT64_MAX:
            return r
        return ((r + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return np.subtract(_as_int(a), _as_int(b))
    return wrap64(int(a) - int(b))


def imul(a: Any, b: Any) -> Any:
    """Integer a * b wrapped to int64."""
    if type(a) is int and type(b) is int:
        r = a * b
        if INT64_MIN <= r <= INT64_MAX:
            return r
        return ((r + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return np.multiply(_as_int(a), _as_int(b))
    return wrap64(int(a) * int(b))


def ineg(a: Any) -> Any:
    """Integer -a wrapped to int64 (so -INT64_MIN == INT64_MIN)."""
    if type(a) is int:
        return -a if a != INT64_MIN else a
    if isinstance(a, _ndarray):
        return np.negative(_as_int(a))
    return wrap64(-int(a))


def iabs(a: Any) -> Any:
    """Integer |a| wrapped to int64 (so abs(INT64_MIN) == INT64_MIN, as in numpy)."""
    if type(a) is int:
        return a if a >= 0 else (-a if a != INT64_MIN else a)
    if isinstance(a, _ndarray):
        return np.abs(_as_int(a))
    return wrap64(abs(int(a)))


def bnot(a: Any) -> Any:
    """Bitwise not of an int (~a == -a - 1); bools are treated as the ints 0/1, never as logical not."""
    if type(a) is int:
        return ~a
    if isinstance(a, _ndarray):
        return np.invert(_as_int(a))
    return wrap64(~int(a))


def idiv(a: Any, b: Any) -> Any:
    """Protected floor division a // b wrapped to int64; 0 where b == 0 (numpy's integer convention)."""
    if type(a) is int and type(b) is int:
        if b == 0:
            return 0
        r = a // b
        return r if r <= INT64_MAX else ((r + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        a, b = _as_int(a), _as_int(b)
        zero = b == 0
        with _errstate(all="ignore"):
            q = np.floor_divide(a, np.where(zero, 1, b))
        return np.where(zero, 0, q)
    a, b = int(a), int(b)
    return 0 if b == 0 else wrap64(a // b)


def imod(a: Any, b: Any) -> Any:
    """Protected floor modulo a % b (result has the sign of b, as Python and numpy); 0 where b == 0."""
    if type(a) is int and type(b) is int:
        return a % b if b else 0
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        a, b = _as_int(a), _as_int(b)
        zero = b == 0
        with _errstate(all="ignore"):
            r = np.mod(a, np.where(zero, 1, b))
        return np.where(zero, 0, r)
    a, b = int(a), int(b)
    return a % b if b else 0


def shl(a: Any, n: Any) -> Any:
    """Left shift a << (n & 63) wrapped to int64 (the shift count is masked to 0..63)."""
    if type(a) is int and type(n) is int:
        r = a << (n & 63)
        if INT64_MIN <= r <= INT64_MAX:
            return r
        return ((r + _OFFSET) & _MASK64) - _OFFSET
    if isinstance(a, _ndarray) or isinstance(n, _ndarray):
        return np.left_shift(np.asarray(_as_int(a), dtype=np.int64), np.bitwise_and(_as_int(n), 63))
    return wrap64(int(a) << (int(n) & 63))


def shr(a: Any, n: Any) -> Any:
    """Arithmetic right shift a >> (n & 63) (sign-extending; the shift count is masked to 0..63)."""
    if type(a) is int and type(n) is int:
        return a >> (n & 63)
    if isinstance(a, _ndarray) or isinstance(n, _ndarray):
        return np.right_shift(np.asarray(_as_int(a), dtype=np.int64), np.bitwise_and(_as_int(n), 63))
    return int(a) >> (int(n) & 63)


def f2i(x: Any) -> Any:
    """Float to int64 truncating toward zero; nan -> 0, saturating at -2**63 and 2**63 - 1024 (inf too)."""
    if type(x) is float:
        if x != x:
            return 0
        if x >= _F2I_MAX:
            return int(_F2I_MAX)
        if x <= _F2I_MIN:
            return INT64_MIN
        return int(x)
    if isinstance(x, _ndarray):
        with _errstate(all="ignore"):
            y = np.clip(np.where(np.isnan(x), 0.0, x), _F2I_MIN, _F2I_MAX)
            return y.astype(np.int64)
    x = float(x)
    if x != x:
        return 0
    if x >= _F2I_MAX:
        return int(_F2I_MAX)
    if x <= _F2I_MIN:
        return INT64_MIN
    return int(x)


# ----------------------------------------------------------------------------------------------- floats


def pdiv(a: Any, b: Any) -> Any:
    """Protected division a / b; 1.0 where b == 0 (DEAP protectedDiv); overflow gives +-inf."""
    if type(b) is float and type(a) is float:
        return a / b if b != 0.0 else 1.0
    # Array paths: the cheapest exact form (divide, then patch the zero divisors), cheaper than where-based
    # variants; callers evaluating vectorised programs silence numpy warnings once per program.
    if isinstance(b, _ndarray):
        q = np.true_divide(a, b)
        if q.shape == b.shape:
            q[b == 0] = 1.0
        else:  # the divisor broadcasts against a larger dividend
            np.copyto(q, 1.0, where=b == 0)
        return q
    if isinstance(a, _ndarray):
        return np.true_divide(a, b) if b != 0 else np.ones(a.shape)
    return float(a) / float(b) if b != 0 else 1.0


def pmod(a: Any, b: Any) -> Any:
    """Protected float modulo a % b (sign of b, Python/numpy semantics, inf % x -> nan); 0.0 where b == 0."""
    if type(b) is float and type(a) is float:
        return a % b if b != 0.0 else 0.0
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        zero = np.equal(b, 0)
        with _errstate(all="ignore"):
            r = np.mod(a, np.where(zero, 1.0, b))
        return np.where(zero, 0.0, r)
    return float(a) % float(b) if b != 0 else 0.0


def ppow(a: Any, b: Any) -> Any:
    """Protected power |a| ** b (never complex); 0 ** negative -> 1.0; overflow -> inf; IEEE pow otherwise."""
    if type(b) is float and type(a) is float:
        a = abs(a)
        if a == 0.0 and b < 0.0:
            return 1.0
        try:
            return a**b
        except ZeroDivisionError:  # 0.0 ** negative
            return 1.0
        except OverflowError:
            return _INF
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        aa = np.abs(np.asarray(a, dtype=np.float64))
        with _errstate(all="ignore"):
            r = np.power(aa, b)
        return np.where((aa == 0.0) & np.less(b, 0.0), 1.0, r)
    return ppow(float(a), float(b))


def plog(x: Any) -> Any:
    """Protected natural log: log(|x|), 0.0 at x == 0; inf -> inf, nan -> nan."""
    if type(x) is float:
        return math.log(abs(x)) if x != 0.0 else 0.0
    if isinstance(x, _ndarray):
        zero = x == 0
        with _errstate(all="ignore"):
            r = np.log(np.abs(x))
        return np.where(zero, 0.0, r)
    return plog(float(x))


def pexp(x: Any) -> Any:
    """Protected exp: exp(min(x, 700.0)), always finite except for nan (-> nan); exp(-inf) == 0.0."""
    if type(x) is float:
        return math.exp(x if not x > EXP_CLIP else EXP_CLIP)
    if isinstance(x, _ndarray):
        with _errstate(all="ignore"):
            return np.exp(np.minimum(x, EXP_CLIP))
    return pexp(float(x))


def psqrt(x: Any) -> Any:
    """Protected square root: sqrt(|x|); inf -> inf, nan -> nan."""
    if type(x) is float:
        return math.sqrt(abs(x))
    if isinstance(x, _ndarray):
        return np.sqrt(np.abs(x))
    return math.sqrt(abs(float(x)))


def psin(x: Any) -> Any:
    """Protected sine: sin(x) for finite x; +-inf and nan -> nan (numpy semantics, never ValueError)."""
    if type(x) is float:
        try:
            return math.sin(x)
        except ValueError:  # +-inf
            return _NAN
    if isinstance(x, _ndarray):
        with _errstate(all="ignore"):
            return np.sin(x)
    return psin(float(x))


def pcos(x: Any) -> Any:
    """Protected cosine: cos(x) for finite x; +-inf and nan -> nan (numpy semantics, never ValueError)."""
    if type(x) is float:
        try:
            return math.cos(x)
        except ValueError:  # +-inf
            return _NAN
    if isinstance(x, _ndarray):
        with _errstate(all="ignore"):
            return np.cos(x)
    return pcos(float(x))


def min2(a: Any, b: Any) -> Any:
    """Minimum of two numbers; nan propagates (np.minimum semantics) instead of depending on order."""
    ta = type(a)
    if (ta is float or ta is int) and type(b) is ta:
        if a < b:
            return a
        if b < a:
            return b
        return a if a != a else b
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return np.minimum(a, b)
    if a < b:
        return a
    if b < a:
        return b
    return a if a != a else b


def max2(a: Any, b: Any) -> Any:
    """Maximum of two numbers; nan propagates (np.maximum semantics) instead of depending on order."""
    ta = type(a)
    if (ta is float or ta is int) and type(b) is ta:
        if a > b:
            return a
        if b > a:
            return b
        return a if a != a else b
    if isinstance(a, _ndarray) or isinstance(b, _ndarray):
        return np.maximum(a, b)
    if a > b:
        return a
    if b > a:
        return b
    return a if a != a else b


# ------------------------------------------------------------------------------------------------ logic


def select(cond: Any, a: Any, b: Any) -> Any:
    """If-then-else: a where cond else b (np.where when cond is an array, Python conditional otherwise)."""
    if isinstance(cond, _ndarray):
        return np.where(cond, a, b)
    return a if cond else b


def lnot(x: Any) -> Any:
    """Logical not of a bool scalar (-> bool) or bool array (-> bool array)."""
    if type(x) is bool:
        return not x
    if isinstance(x, _ndarray):
        return np.logical_not(x)
    return not x


# -------------------------------------------------------------------------------------- str / sequences


def char_at(s: str, i: int) -> str:
    """Character s[i mod len(s)] (negative i counts from the end as usual); '' for an empty string."""
    return s[i % len(s)] if s else ""


def str_set_char(s: str, i: int, c: str) -> str:
    """New string with the character at i mod len(s) replaced by c (c may be any length); s if empty."""
    if not s:
        return s
    k = i % len(s)
    return s[:k] + c + s[k + 1 :]


def seq_get(seq: list[T], i: int, default: T) -> T:
    """Element seq[i mod len(seq)]; default for an empty list."""
    return seq[i % len(seq)] if seq else default


def seq_set(seq: list[T], i: int, v: T) -> list[T]:
    """New list with the element at i mod len(seq) replaced by v; a copy of seq if it is empty."""
    out = list(seq)
    if out:
        out[i % len(out)] = v
    return out


RUNTIME_NAMES: Final[dict[str, object]] = {
    "abs": abs,
    "len": len,
    "sum": sum,
    "wrap64": wrap64,
    "iadd": iadd,
    "isub": isub,
    "imul": imul,
    "ineg": ineg,
    "iabs": iabs,
    "bnot": bnot,
    "idiv": idiv,
    "imod": imod,
    "shl": shl,
    "shr": shr,
    "f2i": f2i,
    "pdiv": pdiv,
    "pmod": pmod,
    "ppow": ppow,
    "plog": plog,
    "pexp": pexp,
    "psqrt": psqrt,
    "psin": psin,
    "pcos": pcos,
    "min2": min2,
    "max2": max2,
    "select": select,
    "lnot": lnot,
    "char_at": char_at,
    "str_set_char": str_set_char,
    "seq_get": seq_get,
    "seq_set": seq_set,
}
