"""Every rule of the connection-graph table and the row rules is enforced, each with its own message; tampered
JSON forms of GCs are rejected with a precise GCValidationError."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from gc_test_support import BOOL, FLOAT, codon, if_then_else, square_plus_x

from egp.genetic_code.gc import GeneticCode, build_gc
from egp.genetic_code.graph import (
    ALLOWED,
    MAX_ENDPOINTS,
    REQUIRED_ROWS,
    Connection,
    ConnectionGraph,
    GCValidationError,
    Row,
    check_graph,
    graph_from_json,
    graph_from_text,
    make_graph,
)
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.serialization import from_json, to_json
from egp.genetic_code.types import TYPES

REAL = TYPES.uid("Real")
NUMBER = TYPES.uid("Number")

# A STANDARD float graph: A = float_mul(I0, I0), B = float_add(A0, I0), O = B0 — the baseline to break.
A_IN = (FLOAT, FLOAT)
B_IN = (FLOAT, FLOAT)


def standard(
    conns: dict[Row, list[Connection]] | None = None,
    *,
    inputs: tuple[int, ...] = (FLOAT,),
    dest_types: dict[Row, tuple[int, ...]] | None = None,
    source_types: dict[Row, tuple[int, ...]] | None = None,
    graph_type: CGraphType = CGraphType.STANDARD,
) -> ConnectionGraph:
    """make_graph (validating) of the baseline STANDARD graph with some parts replaced."""
    d_types = {Row.A: A_IN, Row.B: B_IN, Row.O: (FLOAT,)}
    d_types.update(dest_types or {})
    base: dict[Row, list[Connection]] = {
        Row.A: [(Row.I, 0), (Row.I, 0)],
        Row.B: [(Row.A, 0), (Row.I, 0)],
        Row.O: [(Row.B, 0)],
    }
    base.update(conns or {})
    s_types = {Row.A: (FLOAT,), Row.B: (FLOAT,)}
    s_types.update(source_types or {})
    return make_graph(graph_type, inputs, d_types, base, s_types)


def conditional(
    graph_type: CGraphType,
    conns: dict[Row, list[Connection]] | None = None,
    dest_types: dict[Row, tuple[int, ...]] | None = None,
) -> ConnectionGraph:
    """make_graph of an IF_THEN(_ELSE) graph over inputs (bool, float) with some parts replaced."""
    d_types: dict[Row, tuple[int, ...]] = {Row.F: (BOOL,), Row.A: (FLOAT,), Row.O: (FLOAT,), Row.P: (FLOAT,)}
    base: dict[Row, list[Connection]] = {
        Row.F: [(Row.I, 0)],
        Row.A: [(Row.I, 1)],
        Row.O: [(Row.A, 0)],
        Row.P: [(Row.I, 1)],
    }
    s_types = {Row.A: (FLOAT,)}
    if graph_type is CGraphType.IF_THEN_ELSE:
        d_types[Row.B] = (FLOAT,)
        base[Row.B] = [(Row.I, 1)]
        base[Row.P] = [(Row.B, 0)]
        s_types[Row.B] = (FLOAT,)
    d_types.update(dest_types or {})
    base.update(conns or {})
    return make_graph(graph_type, (BOOL, FLOAT), d_types, base, s_types)


def rejects(message: str) -> Any:
    """pytest.raises for GCValidationError whose message contains `message` literally."""
    return pytest.raises(GCValidationError, match=re.escape(message))


# -- the baselines are valid --


def test_the_baselines_are_valid() -> None:
    """The unbroken graphs used below pass validation and keep the rows and connections they were given."""
    graph = standard()
    assert graph.graph_type is CGraphType.STANDARD
    assert dict(graph.dest_conns) == {
        Row.A: ((Row.I, 0), (Row.I, 0)),
        Row.B: ((Row.A, 0), (Row.I, 0)),
        Row.O: ((Row.B, 0),),
    }
    if_then = conditional(CGraphType.IF_THEN)
    assert if_then.graph_type is CGraphType.IF_THEN
    assert set(if_then.dest_conns) == {Row.F, Row.A, Row.O, Row.P}
    if_then_else = conditional(CGraphType.IF_THEN_ELSE)
    assert if_then_else.graph_type is CGraphType.IF_THEN_ELSE
    assert set(if_then_else.dest_conns) == {Row.F, Row.A, Row.B, Row.O, Row.P}
    assert if_then_else.dest_conns[Row.P] == ((Row.B, 0),)


def test_the_table_matches_the_domain_spec() -> None:
    """ALLOWED and REQUIRED_ROWS hold exactly the domain spec's table for the implemented graph types."""
    i, f, a, b, o, p = Row.I, Row.F, Row.A, Row.B, Row.O, Row.P
    assert ALLOWED[CGraphType.PRIMITIVE] == {i: {a}, a: {o}}
    assert ALLOWED[CGraphType.STANDARD] == {i: {a, b}, a: {b, o}, b: {o}}
    assert ALLOWED[CGraphType.IF_THEN] == {i: {a, f, o, p}, a: {o}}
    assert ALLOWED[CGraphType.IF_THEN_ELSE] == {i: {a, b, f, o, p}, a: {o}, b: {p}}
    assert ALLOWED[CGraphType.EMPTY] == {}
    assert REQUIRED_ROWS[CGraphType.IF_THEN_ELSE] == {f, a, b, p}


# -- the source → destination table --


def test_a_row_may_not_feed_itself_a_to_a() -> None:
    """A → A would be a cycle."""
    with rejects("STANDARD graph may not connect row A to row A (A[0] -> A[1])"):
        standard({Row.A: [(Row.I, 0), (Row.A, 0)]})


def test_b_to_b_is_rejected() -> None:
    """B → B would be a cycle."""
    with rejects("STANDARD graph may not connect row B to row B (B[0] -> B[0])"):
        standard({Row.B: [(Row.B, 0), (Row.I, 0)]})


def test_i_to_o_is_not_allowed_in_standard() -> None:
    """STANDARD never connects the inputs straight to the outputs."""
    with rejects("STANDARD graph may not connect row I to row O (I[0] -> O[0])"):
        standard({Row.O: [(Row.I, 0)]})


def test_b_to_o_in_if_then_else_must_be_b_to_p() -> None:
    """In IF_THEN_ELSE, B is the false branch: it feeds P, never O."""
    with rejects("IF_THEN_ELSE graph may not connect row B to row O (B[0] -> O[0])"):
        conditional(CGraphType.IF_THEN_ELSE, {Row.O: [(Row.B, 0)]})


def test_a_to_p_in_if_then_else_is_rejected() -> None:
    """A is the true branch: it feeds O, never P."""
    with rejects("IF_THEN_ELSE graph may not connect row A to row P (A[0] -> P[0])"):
        conditional(CGraphType.IF_THEN_ELSE, {Row.P: [(Row.A, 0)]})


def test_the_condition_comes_from_row_i_only() -> None:
    """F may be fed only from row I (here A, computed inside, is refused)."""
    with rejects("IF_THEN graph may not connect row A to row F (A[0] -> F[0])"):
        conditional(CGraphType.IF_THEN, {Row.F: [(Row.A, 0)]}, {Row.A: (FLOAT,)})


def test_a_source_index_out_of_range() -> None:
    """A reference to an endpoint that does not exist."""
    with rejects("A[1] references I[5], which does not exist"):
        standard({Row.A: [(Row.I, 0), (Row.I, 5)]})
    with rejects("B[0] references A[1], which does not exist"):
        standard({Row.B: [(Row.A, 1), (Row.I, 0)]})


# -- types --


def test_incompatible_types_float_into_bool() -> None:
    """A float source cannot feed a bool destination."""
    with rejects("A[0] of type bool cannot take I[0] of type float"):
        standard(dest_types={Row.A: (BOOL, FLOAT)})


def test_a_downcast_is_rejected_but_an_upcast_is_fine() -> None:
    """Real → float is a downcast (refused); float → Real is compatible (accepted)."""
    with rejects("A[0] of type float cannot take I[0] of type Real"):
        standard(inputs=(REAL,))
    # float source I0 into Real/Number destinations: compatible.
    make_graph(
        CGraphType.STANDARD,
        (FLOAT,),
        {Row.A: (FLOAT, FLOAT), Row.B: (REAL, NUMBER), Row.O: (REAL,)},
        {Row.A: [(Row.I, 0), (Row.I, 0)], Row.B: [(Row.A, 0), (Row.I, 0)], Row.O: [(Row.B, 0)]},
        {Row.A: (FLOAT,), Row.B: (FLOAT,)},
    )


def test_f_must_be_one_bool_endpoint() -> None:
    """Row F holds exactly one endpoint, of type bool."""
    with rejects("row F must have exactly one bool endpoint"):
        conditional(CGraphType.IF_THEN, {Row.F: [(Row.I, 0), (Row.I, 0)]}, {Row.F: (BOOL, BOOL)})
    with rejects("row F must have exactly one bool endpoint"):
        conditional(CGraphType.IF_THEN, {Row.F: [(Row.I, 1)]}, {Row.F: (FLOAT,)})


def test_p_types_must_equal_o_types() -> None:
    """Row P is the alternate output path: same count, order and types as O."""
    with rejects("row P must have the same endpoint types as row O"):
        conditional(CGraphType.IF_THEN, {Row.P: [(Row.I, 0)]}, {Row.P: (BOOL,)})
    with rejects("row P must have the same endpoint types as row O"):
        conditional(CGraphType.IF_THEN, {Row.P: [(Row.I, 1), (Row.I, 1)]}, {Row.P: (FLOAT, FLOAT)})


# -- row presence per graph type --


@pytest.mark.parametrize(
    ("graph_type", "missing"),
    [
        (CGraphType.STANDARD, Row.B),
        (CGraphType.STANDARD, Row.A),
        (CGraphType.IF_THEN, Row.F),
        (CGraphType.IF_THEN, Row.P),
        (CGraphType.IF_THEN_ELSE, Row.B),
        (CGraphType.PRIMITIVE, Row.A),
    ],
)
def test_a_missing_required_row(graph_type: CGraphType, missing: Row) -> None:
    """Each graph type names the row it lacks."""
    d_types: dict[Row, tuple[int, ...]] = {
        Row.F: (BOOL,),
        Row.A: (FLOAT,),
        Row.B: (FLOAT,),
        Row.O: (FLOAT,),
        Row.P: (FLOAT,),
    }
    keep = REQUIRED_ROWS[graph_type] - {missing}
    dest_types = {row: t for row, t in d_types.items() if row in keep or row is Row.O}
    dest_conns: dict[Row, list[Connection | None]] = {row: [None] * len(t) for row, t in dest_types.items()}
    source_types = {row: (FLOAT,) for row in (Row.A, Row.B) if row in dest_types}
    with rejects(f"{graph_type.name} graph requires row {missing.value}"):
        check_graph(graph_type, (BOOL, FLOAT), dest_types, dest_conns, source_types, require_stable=False)


def test_an_extra_row_f_in_standard() -> None:
    """F belongs to conditionals only."""
    with rejects("STANDARD graph may not have row F"):
        standard({Row.F: [(Row.I, 0)]}, inputs=(FLOAT,), dest_types={Row.F: (BOOL,)})


def test_a_sub_gc_row_needs_both_interfaces() -> None:
    """Ad without As (or the reverse) is refused."""
    with rejects("row B must have both a destination and a source interface"):
        check_graph(
            CGraphType.STANDARD,
            (FLOAT,),
            {Row.A: (FLOAT,), Row.B: (FLOAT,), Row.O: (FLOAT,)},
            {Row.A: [(Row.I, 0)], Row.B: [(Row.A, 0)], Row.O: [(Row.A, 0)]},
            {Row.A: (FLOAT,)},
            require_stable=True,
        )


def test_more_than_256_endpoints() -> None:
    """Interfaces hold at most 256 endpoints."""
    with rejects(f"row I has {MAX_ENDPOINTS + 1} endpoints (at most {MAX_ENDPOINTS})"):
        standard(inputs=(FLOAT,) * (MAX_ENDPOINTS + 1))
    wide = (FLOAT,) * (MAX_ENDPOINTS + 1)
    with rejects(f"row A has {MAX_ENDPOINTS + 1} endpoints (at most {MAX_ENDPOINTS})"):
        standard({Row.A: [(Row.I, 0)] * len(wide)}, dest_types={Row.A: wide})
    with rejects(f"row As has {MAX_ENDPOINTS + 1} endpoints (at most {MAX_ENDPOINTS})"):
        standard(source_types={Row.A: wide})
    # Exactly 256 is fine.
    standard(inputs=(FLOAT,) * MAX_ENDPOINTS)


def test_an_unconnected_destination_is_unstable() -> None:
    """A destination without a source is a Steady State Exception: refused for stored graphs."""
    dest_types = {Row.A: A_IN, Row.B: B_IN, Row.O: (FLOAT,)}
    conns: dict[Row, list[Connection | None]] = {
        Row.A: [(Row.I, 0), (Row.I, 0)],
        Row.B: [(Row.A, 0), None],
        Row.O: [(Row.B, 0)],
    }
    sources = {Row.A: (FLOAT,), Row.B: (FLOAT,)}
    with rejects("destination B[1] is not connected (unstable graph)"):
        check_graph(CGraphType.STANDARD, (FLOAT,), dest_types, conns, sources, require_stable=True)
    check_graph(CGraphType.STANDARD, (FLOAT,), dest_types, conns, sources, require_stable=False)
    text = {"I": ["float"], "O": [[None, None, "float"]]}
    with rejects("destination O[0] is not connected (unstable graph)"):
        graph_from_json(text)


def test_an_empty_graph_has_no_connections() -> None:
    """EMPTY holds only an interface: any connection is refused, so with outputs it is never stable."""
    with rejects("EMPTY graph may not connect row I to row O (I[0] -> O[0])"):
        make_graph(CGraphType.EMPTY, (FLOAT,), {Row.O: (FLOAT,)}, {Row.O: [(Row.I, 0)]}, {})
    with rejects("destination O[0] is not connected (unstable graph)"):
        check_graph(CGraphType.EMPTY, (FLOAT,), {Row.O: (FLOAT,)}, {Row.O: [None]}, {}, require_stable=True)
    # Inputs only, no outputs: a valid (if useless) EMPTY graph.
    make_graph(CGraphType.EMPTY, (FLOAT,), {Row.O: ()}, {Row.O: []}, {})


def test_neither_inputs_nor_outputs() -> None:
    """A graph needs at least one endpoint on I or O."""
    with rejects("graph has neither inputs nor outputs"):
        make_graph(CGraphType.EMPTY, (), {Row.O: ()}, {Row.O: []}, {})


def test_a_graph_needs_an_o_row() -> None:
    """Row O always exists (possibly empty)."""
    with rejects("graph has no O row"):
        graph_from_json({"I": ["float"]})


def test_graph_json_structure_errors() -> None:
    """Malformed JSON graphs name what is wrong."""
    with rejects("graph must be a JSON object"):
        graph_from_json([])
    with rejects("graph has unknown row 'Q'"):
        graph_from_json({"I": [], "Q": [], "O": []})
    with rejects("graph O[0] names unknown source row 'Z'"):
        graph_from_json({"I": ["float"], "O": [["Z", 0, "float"]]})
    with rejects("graph O[0] must be [source_row, source_index, type]"):
        graph_from_json({"I": ["float"], "O": [["I", 0]]})
    with rejects("graph O[0] source index must be an integer"):
        graph_from_json({"I": ["float"], "O": [["I", "0", "float"]]})


# -- tampered JSON GCs --


@pytest.fixture
def composite() -> tuple[GeneticCode, dict[bytes, GeneticCode]]:
    """x*x + x and the store holding it."""
    store: dict[bytes, GeneticCode] = {}
    return square_plus_x(store), store


def test_the_untampered_forms_validate(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """Sanity: the untouched JSON of a composite, a codon and a conditional validate."""
    gc, store = composite
    assert from_json(to_json(gc), store) == gc
    assert from_json(to_json(codon("float_add")), {}) == codon("float_add")
    conditional_gc = if_then_else(store)
    assert from_json(json.loads(json.dumps(to_json(conditional_gc))), store) == conditional_gc


def test_a_changed_type_with_the_old_signature(
    composite: tuple[GeneticCode, dict[bytes, GeneticCode]],
) -> None:
    """O retyped float → Real (still a compatible graph) no longer matches the claimed signature."""
    gc, store = composite
    obj = to_json(gc)
    obj["graph"]["O"][0][2] = "Real"
    with rejects(f"signature mismatch: claimed {gc.signature.hex()}, computed "):
        from_json(obj, store)


def test_a_changed_type_that_breaks_the_graph(
    composite: tuple[GeneticCode, dict[bytes, GeneticCode]],
) -> None:
    """I retyped float → int: the sub-GC interfaces no longer accept it."""
    gc, store = composite
    obj = to_json(gc)
    obj["graph"]["I"] = ["int"]
    with rejects("A[0] of type float cannot take I[0] of type int"):
        from_json(obj, store)


def test_an_unknown_type_name(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """A type the registry does not know."""
    gc, store = composite
    obj = to_json(gc)
    obj["graph"]["A"][1][2] = "flaot"
    with rejects("graph A[1]: unknown type 'flaot'"):
        from_json(obj, store)
    obj = to_json(gc)
    obj["graph"]["I"] = ["quaternion"]
    with rejects("graph row I: unknown type 'quaternion'"):
        from_json(obj, store)


def test_a_changed_codon_reference(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """gca pointing at another codon with the same interface, or at nothing known."""
    gc, store = composite
    obj = to_json(gc)
    obj["gca"] = codon("float_sub").signature.hex()
    with rejects(f"signature mismatch: claimed {gc.signature.hex()}"):
        from_json(obj, store)
    obj["gca"] = "ab" * 32
    with rejects(f"gca {'ab' * 32} is not known"):
        from_json(obj, store)
    obj["gca"] = codon("float_neg").signature.hex()
    with rejects("row Ad types differ from gca's inputs"):
        from_json(obj, store)
    obj["gca"] = "xyz"
    with rejects("gca: a signature is 64 hex digits, got 3 characters"):
        from_json(obj, store)


def test_a_changed_connection_with_the_old_signature(
    composite: tuple[GeneticCode, dict[bytes, GeneticCode]],
) -> None:
    """B[1] rewired from I0 to A0 (x*x + x*x): a valid graph, but not the one signed."""
    gc, store = composite
    obj = to_json(gc)
    assert obj["graph"]["B"][1][:2] == ["I", 0]
    obj["graph"]["B"][1][:2] = ["A", 0]
    with rejects(f"signature mismatch: claimed {gc.signature.hex()}"):
        from_json(obj, store)


def test_a_changed_creator_or_lineage(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """Creator and ancestors are part of the identity."""
    gc, store = composite
    obj = to_json(gc)
    obj["creator"] = "00000000-0000-0000-0000-000000000001"
    with rejects("signature mismatch"):
        from_json(obj, store)
    obj = to_json(gc)
    obj["ancestora"] = gc.gca.hex() if gc.gca else None
    with rejects("signature mismatch"):
        from_json(obj, store)


def test_a_codon_whose_template_differs_from_the_registry() -> None:
    """The inline template travels with a codon only to be checked against the trusted registry's."""
    obj = to_json(codon("float_add"))
    obj["codon"]["inline"] = "__import__('os').system('true')"
    with rejects(f"codon {obj['signature']} does not match the registry's template"):
        from_json(obj, {})
    del obj["codon"]
    with rejects("does not match the registry's template"):
        from_json(obj, {})


def test_a_codon_not_in_the_registry() -> None:
    """A codon claiming a signature the registry lacks."""
    obj = to_json(codon("float_add"))
    obj["signature"] = "cd" * 32
    with rejects(f"codon {'cd' * 32} is not in the local codon registry"):
        from_json(obj, {})


def test_a_codon_with_a_changed_graph() -> None:
    """A registry signature with another graph (float_add retyped to output Real)."""
    obj = to_json(codon("float_add"))
    obj["graph"]["As"] = ["Real"]
    obj["graph"]["O"][0][2] = "Real"
    with rejects(f"codon {obj['signature']} differs from the registry's definition"):
        from_json(obj, {})


def test_a_codon_with_wrong_size_fields_or_lineage() -> None:
    """A codon's sizes are all 1 and it has no pGC unless the registry says so."""
    obj = to_json(codon("float_add"))
    obj["code_depth"] = 3
    with rejects(f"codon {obj['signature']} differs from the registry's definition"):
        from_json(obj, {})
    obj = to_json(codon("float_add"))
    obj["pgc"] = "ab" * 32
    with rejects(f"codon {obj['signature']} differs from the registry's definition"):
        from_json(obj, {})
    obj = to_json(codon("float_add"))
    obj["gca"] = "ab" * 32
    with rejects("a codon has no sub-GCs and no ancestors"):
        from_json(obj, {})


def test_wrong_size_fields(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """code_depth / num_codes / num_codons must be what the sub-GCs imply; generation at least theirs + 1."""
    gc, store = composite
    for key, value in (("code_depth", 3), ("num_codes", 4), ("num_codons", 1)):
        obj = to_json(gc)
        obj[key] = value
        with rejects("size fields (code_depth, num_codes, num_codons) do not match the sub-GCs"):
            from_json(obj, store)
    obj = to_json(gc)
    obj["generation"] = 1
    with rejects("generation 1 is below its sub-GCs' (2)"):
        from_json(obj, store)
    obj["generation"] = -1
    with rejects("generation must be an integer in [1, "):
        from_json(obj, store)
    obj = to_json(gc)
    obj["num_codes"] = True
    with rejects("num_codes must be an integer in [0, 2147483647], got True"):
        from_json(obj, store)


def test_properties_with_unknown_bits(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """Reserved bits must be clear; the declared graph type and flags must match the graph and sub-GCs."""
    gc, store = composite
    obj = to_json(gc)
    obj["properties"] = gc.properties | (1 << 40)
    with rejects("properties has unknown bits set: 0x10000000000"):
        from_json(obj, store)
    obj["properties"] = gc.properties ^ (1 << 8)  # constant flipped
    with rejects(f"properties {obj['properties']:#x} do not match the sub-GCs ({gc.properties:#x})"):
        from_json(obj, store)
    obj["properties"] = (gc.properties & ~0x78) | (int(CGraphType.IF_THEN) << 3)
    with rejects("properties say IF_THEN but the graph is STANDARD"):
        from_json(obj, store)
    obj["properties"] = gc.properties | 0x7
    with rejects("name an unknown GC or graph type"):
        from_json(obj, store)


def test_non_canonical_key_order(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """The graph JSON must be in canonical order (O before A is refused even though it means the same)."""
    gc, store = composite
    obj = to_json(gc)
    graph = obj["graph"]
    obj["graph"] = {"O": graph["O"], **{k: v for k, v in graph.items() if k != "O"}}
    with rejects("graph JSON is not in canonical form (key order, spacing or types)"):
        from_json(obj, store)


def test_structural_field_errors(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """Missing, unknown and malformed top-level fields."""
    gc, store = composite
    obj = to_json(gc)
    del obj["creator"]
    with rejects("GC JSON lacks field 'creator'"):
        from_json(obj, store)
    obj = to_json(gc)
    obj["fitness"] = 1.0
    with rejects("GC JSON has unknown field(s) ['fitness']"):
        from_json(obj, store)
    obj = to_json(gc)
    obj["created"] = "2000-01-01T00:00:00+00:00"
    with rejects("created is before the EGP epoch"):
        from_json(obj, store)
    obj["created"] = "2021-01-01T00:00:00"
    with rejects("created must carry a time zone"):
        from_json(obj, store)
    obj = to_json(gc)
    obj["codon"] = {"name": "x", "inline": "1", "description": ""}
    with rejects("an ordinary GC may not carry a codon template"):
        from_json(obj, store)
    with rejects("a GC must be a JSON object"):
        from_json([], store)


def test_a_sub_gc_missing_from_the_store(composite: tuple[GeneticCode, dict[bytes, GeneticCode]]) -> None:
    """A composite whose sub-GC is neither stored nor a codon."""
    gc, store = composite
    outer = build_gc(
        make_graph(
            CGraphType.STANDARD,
            (FLOAT,),
            {Row.A: gc.inputs, Row.B: gc.inputs, Row.O: (FLOAT,)},
            {Row.A: [(Row.I, 0)], Row.B: [(Row.A, 0)], Row.O: [(Row.B, 0)]},
            {Row.A: gc.outputs, Row.B: gc.outputs},
        ),
        gc,
        gc,
    )
    assert from_json(to_json(outer), store) == outer
    with rejects(f"gca {gc.signature.hex()} is not known"):
        from_json(to_json(outer), {})


@pytest.mark.parametrize("which", ["composite", "codon", "if_then_else"])
def test_mutated_json_only_ever_raises_gc_validation_error(which: str) -> None:
    """Replacing any field or graph entry by junk values gives GCValidationError, never another exception."""
    store: dict[bytes, GeneticCode] = {}
    gc = {"composite": square_plus_x, "if_then_else": if_then_else}.get(which, lambda s: codon("float_mul"))(
        store
    )
    junk: list[Any] = [None, True, -1, 2**70, 1.5, "", "x", "ab" * 32, [], {}, [None], ["I", 0, "float"]]
    base = to_json(gc)
    paths: list[tuple[Any, ...]] = [(key,) for key in base]
    paths += [("graph", key) for key in base["graph"]]
    for row, entries in base["graph"].items():
        if entries and isinstance(entries[-1], list):
            paths += [("graph", row, len(entries) - 1, k) for k in range(3)]
        if entries:
            paths.append(("graph", row, len(entries) - 1))
    if "codon" in base:
        paths += [("codon", key) for key in base["codon"]]
    for path in paths:
        for value in junk:
            obj = copy.deepcopy(base)
            target = obj
            for step in path[:-1]:
                target = target[step]
            target[path[-1]] = value
            try:
                from_json(obj, store)
            except GCValidationError:
                continue
            # Accepted: only acceptable if nothing that matters changed.
            assert to_json(from_json(obj, store)) == base, (path, value)


def test_graph_from_text_validates_each_distinct_text_once() -> None:
    """A stored graph text gives the same graph object every time; bad texts are GCValidationErrors."""
    gc = square_plus_x({})
    text = gc.graph.canonical_json()
    first = graph_from_text(text)
    assert first == gc.graph and graph_from_text(text) is first
    with rejects("graph is not valid JSON"):
        graph_from_text(text[:-1])
    reordered = json.dumps(dict(reversed(list(json.loads(text).items()))), separators=(",", ":"))
    with rejects("not in canonical form"):
        graph_from_text(reordered)
    with rejects("graph is not valid JSON"):
        graph_from_text(None)  # type: ignore[arg-type]
