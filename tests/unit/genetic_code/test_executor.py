"""The Executor: L1 cache budget and hit rate, prepare-once caching, generated source, failure isolation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gc_test_support import (
    FLOAT,
    STR,
    call,
    codon,
    positive_square,
    reference_eval,
    same,
    square_plus_x,
    x,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.config import get_settings
from egp.genetic_code import codon_functions, execution
from egp.genetic_code.assembly import Assembler
from egp.genetic_code.execution import Executor, safe_call
from egp.genetic_code.gc import GeneticCode, build_gc
from egp.genetic_code.graph import Row, make_graph
from egp.genetic_code.lru import CountingLRUCache
from egp.genetic_code.properties import CGraphType


def twice(store: dict[bytes, GeneticCode], inner: GeneticCode) -> GeneticCode:
    """A STANDARD GC computing inner(inner(x)): the same sub-GC is both GCA and GCB."""
    graph = make_graph(
        CGraphType.STANDARD,
        (FLOAT,),
        {Row.A: inner.inputs, Row.B: inner.inputs, Row.O: (FLOAT,)},
        {Row.A: [(Row.I, 0)], Row.B: [(Row.A, 0)], Row.O: [(Row.B, 0)]},
        {Row.A: inner.outputs, Row.B: inner.outputs},
    )
    gc = build_gc(graph, inner, inner)
    return store.setdefault(gc.signature, gc)


def test_lru_cache_respects_its_byte_budget_and_counts_hits() -> None:
    """Entries are evicted least-recently-used first to stay within the budget; hits and misses counted."""
    cache = CountingLRUCache(1000, getsizeof=lambda _: 300)
    for k in range(10):
        cache[bytes([k])] = k
        assert cache.currsize <= 1000
    assert len(cache) == 3
    assert cache.get(bytes([0])) is None
    assert cache.get(bytes([9])) == 9
    cache.get(bytes([7]))  # 7 becomes the most recent: 8 is evicted next
    cache[b"new"] = "v"
    assert cache.get(bytes([8])) is None and cache.get(bytes([7])) == 7
    assert (cache.hits, cache.misses) == (3, 2)
    assert cache.hit_rate == pytest.approx(3 / 5)
    assert CountingLRUCache(10).hit_rate == 0.0
    huge = CountingLRUCache(1000, getsizeof=len)
    huge[b"huge"] = "v" * 10_000  # larger than the whole budget: not cached, nothing evicted for it
    assert len(huge) == 0 and huge.get(b"huge") is None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 30), st.integers(1, 400)), max_size=200))
def test_lru_cache_never_exceeds_its_budget_and_keeps_the_most_recent(
    steps: list[tuple[bool, int, int]],
) -> None:
    """Under any mix of lookups and stores the total size stays within the budget, counts add up, and the
    entry just stored or looked up is still there."""
    cache = CountingLRUCache(1000, getsizeof=lambda v: v[1])
    lookups = 0
    for store, key, size in steps:
        if store:
            cache[key] = (key, size)
            assert cache.get(key) == (key, size)
            lookups += 1
        else:
            found = cache.get(key)
            lookups += 1
            assert found is None or found[0] == key
        assert cache.currsize <= 1000 and cache.currsize == sum(v[1] for v in cache.values())
    assert cache.hits + cache.misses == lookups


def test_executor_l1_stays_within_budget_with_many_gcs() -> None:
    """Flattening many distinct GCs never lets the L1 exceed its budget; repeats are hits."""
    store: dict[bytes, GeneticCode] = {}
    assembler = Assembler(store, [FLOAT])
    gcs = []
    node = call("float_add", x(), x())
    for _ in range(40):
        node = call("float_mul", node, x())
        gcs.append(assembler.assemble(node))
    executor = Executor(store, l1_budget_bytes=20_000)
    for gc in gcs:
        executor.flat(gc)
        assert executor.l1.currsize <= 20_000
    assert 0 < len(executor.l1) < len(gcs)
    misses = executor.l1.misses
    executor.flat(gcs[-1])
    executor.flat(gcs[-1])
    assert executor.l1.misses == misses and executor.l1.hits >= 2
    assert 0.0 < executor.l1.hit_rate < 1.0


def test_the_default_budget_comes_from_the_settings() -> None:
    """Settings carry the L1 budget the workers give their Executor."""
    budget = get_settings().l1_cache_bytes
    assert budget > 0
    assert Executor({}, l1_budget_bytes=budget).l1.maxsize == budget


def test_a_shared_sub_gc_is_prepared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Codon functions are compiled once per codon; flat programs and scalar functions once per signature."""
    store: dict[bytes, GeneticCode] = {}
    inner = square_plus_x(store)
    outer = twice(store, twice(store, inner))  # inner appears 4 times
    compiled: list[str] = []
    real_eval = eval

    def counting_eval(source: str, namespace: dict[str, Any]) -> Any:
        compiled.append(source)
        return real_eval(source, namespace)

    monkeypatch.setattr(codon_functions, "_CODON_FUNCTIONS", {})
    monkeypatch.setattr(codon_functions, "eval", counting_eval, raising=False)
    monkeypatch.setattr(execution, "eval", counting_eval, raising=False)
    executor = Executor(store)
    assert executor.evaluate(outer, [2.0]) == [reference_eval(outer, store, [2.0])[0]]
    # float_mul and float_add are prepared once each (operator templates map straight to operator.mul/add,
    # others compile one lambda), though each runs 4 times.
    assert len(compiled) <= 2
    prepared = len(compiled)
    assert set(codon_functions._CODON_FUNCTIONS) == {
        codon("float_mul").signature,
        codon("float_add").signature,
    }
    executor.evaluate(outer, [np.linspace(-1, 1, 5)])
    assert len(compiled) == prepared
    fn = executor.scalar_function(outer)
    assert executor.scalar_function(outer) is fn and len(compiled) == prepared + 1  # one lambda for the GC
    program = executor.flat(outer)
    assert executor.flat(outer) is program
    assert len(program.ops) == 8
    first, again = execution.codon_function(codon("float_mul")), execution.codon_function(codon("float_mul"))
    assert first is again


def test_very_shared_programs_fall_back_to_statements() -> None:
    """A sub-GC shared 2^12 times exceeds the inline-expression limit: the flat-statement function is used."""
    store: dict[bytes, GeneticCode] = {}
    gc = Assembler(store, [FLOAT]).assemble(call("float_psin", call("float_add", x(), call("lit_float_0_5"))))
    for _ in range(12):
        gc = twice(store, gc)
    executor = Executor(store)
    fn = executor.scalar_function(gc)
    assert fn.__name__.startswith("gc_")  # a def, not the inlined lambda
    for value in (-1.0, 0.0, 0.3, 7.5):
        assert same(fn(value), reference_eval(gc, store, [value])[0])
    assert executor.execute(gc, [0.3]) == (fn(0.3),)


def test_source_is_readable_and_runnable() -> None:
    """source(gc) imports only the runtime helpers it uses and defines one function with the same results."""
    store: dict[bytes, GeneticCode] = {}
    gc = positive_square(store)
    text = Executor(store).source(gc)
    assert text.startswith(f'"""EGP genetic code {gc.signature.hex()} ({gc.num_codons} codons)."""')
    assert "from egp.genetic_code.codon_runtime import select" in text
    assert f"def gc_{gc.signature.hex()[:12]}(i0):" in text
    namespace: dict[str, Any] = {}
    exec(text, namespace)
    fn = namespace[f"gc_{gc.signature.hex()[:12]}"]
    for value in (-2.0, 0.0, 3.0):
        assert fn(value) == (value * value if value > 0 else value) == Executor(store).execute(gc, [value])[0]


def test_a_gc_failing_at_runtime_is_reported_not_raised() -> None:
    """A str codon given an int raises inside the GC; safe_call turns that into a reported failure."""
    store: dict[bytes, GeneticCode] = {}
    gc = Assembler(store, [STR]).assemble(call("str_concat", call("str_upper", x()), x()))
    executor = Executor(store)
    assert executor.execute(gc, ["ab"]) == ("ABab",)
    result, error = safe_call(executor.execute, gc, [5])
    assert result is None and error is not None and error.startswith("AttributeError: ")
    result, error = safe_call(executor.evaluate, gc, [[1, 2]])
    assert result is None and error is not None
    upper = codon("str_upper")
    result, error = safe_call(executor.evaluate, upper, [3])
    assert result is None and error is not None and "upper" in error
    assert safe_call(executor.evaluate, upper, ["x"]) == (["X"], None)


def test_constant_outputs_are_scalars_that_broadcast() -> None:
    """A program whose output is a literal returns a scalar even on array inputs."""
    store: dict[bytes, GeneticCode] = {}
    gc = Assembler(store, [FLOAT]).assemble(
        call("float_add", call("lit_float_1"), call("lit_float_2")),
    )
    executor = Executor(store)
    (out,) = executor.evaluate(gc, [np.arange(4.0)])
    assert np.ndim(out) == 0 and out == 3.0
    assert executor.run_vectorised(gc, [np.arange(4.0)]) == (3.0,)
    assert executor.scalar_function(gc)(1.0) == 3.0
