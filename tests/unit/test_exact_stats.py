"""Exact statistic units: a float delta is rounded once, deterministically; sums of units do not depend on
order or grouping (bit-identical floats when read back), unlike sums of floats."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.storage.exact_stats import (
    SCALE,
    StatisticValueError,
    bind_units,
    from_units,
    stored_units,
    to_units,
)

DELTAS = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(DELTAS, min_size=1, max_size=60), st.randoms(use_true_random=False), st.data())
def test_any_permutation_and_grouping_gives_bit_identical_totals(
    deltas: list[float], rng: random.Random, data: st.DataObject
) -> None:
    """Deltas merged in any order and any grouping (partial sums of units, as pushes and pulls make them)
    give the same units and so the same float, bit for bit."""
    reference = sum(to_units(d) for d in deltas)
    shuffled = deltas[:]
    rng.shuffle(shuffled)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(shuffled)), max_size=6)))
    groups = [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]
    grouped = sum(sum(to_units(d) for d in group) for group in reversed(groups))
    assert grouped == reference
    assert from_units(grouped).hex() == from_units(reference).hex()


@settings(max_examples=300, deadline=None)
@given(DELTAS)
def test_a_delta_is_rounded_once_to_the_scale(value: float) -> None:
    """to_units is the exact value rounded to 10**-SCALE; reading it back is within half a unit."""
    units = to_units(value)
    assert abs(Decimal(value) - Decimal(units).scaleb(-SCALE)) <= Decimal("0.5e-12")
    assert math.isclose(from_units(units), value, abs_tol=1e-12)
    assert stored_units(bind_units(units, postgres=True)) == units


def test_float_sums_do_depend_on_order_and_units_do_not() -> None:
    """The bug this replaces: the same float deltas summed in two orders differ in the last bits."""
    deltas = [0.1, 0.2, 0.3] * 50 + [1e-9, 123.456]
    backwards = list(reversed(deltas))
    assert sum(deltas) != sum(backwards)
    assert sum(map(to_units, deltas)) == sum(map(to_units, backwards))


@pytest.mark.parametrize(
    "value",
    [Decimal("NaN"), Decimal("Infinity"), float("nan"), float("-inf"), Decimal("1e60"), "1", None, True],
)
def test_a_bad_stored_value_is_refused(value: object) -> None:
    """NaN, infinities, out-of-range values and non-numbers are StatisticValueError, never a total."""
    with pytest.raises(StatisticValueError):
        stored_units(value)


def test_non_finite_deltas_count_as_zero() -> None:
    """The engine's finite_or_zero rule holds at the boundary too."""
    assert to_units(float("nan")) == to_units(float("inf")) == 0
