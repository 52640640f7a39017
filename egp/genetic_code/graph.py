"""Connection graphs: how a GC's inputs, sub-GCs and outputs are wired (domain spec §1.2).

Rows: `I` (the GC's inputs, a source), `A`/`B` (the sub-GCs: their inputs are destinations, their outputs
sources), `O` (the GC's outputs, a destination), `F` (the condition of an if-then(-else), a destination) and
`P` (the alternate outputs taken when the condition is false). A destination endpoint holds exactly one
reference `(source row, source index)` when the graph is stable; a source may feed any number of destinations.

The canonical JSON form (used for signatures, transit and storage) is an object whose keys appear in this
order: `I` (input types), then for each destination row present, in the order F, A, B, O, P, the row's
connections as `[source_row, source_index, destination_type]`; sub-GC output types follow their row as `As`
and `Bs`. Every source endpoint is recorded (as a type), so no separate "unconnected" row is needed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import itemgetter
from typing import Any

from pydantic import ValidationError

from egp.errors import EGPError
from egp.genetic_code.json_shapes import GraphShape, graph_problem
from egp.genetic_code.properties import CGraphType
from egp.genetic_code.types import TYPES, UnknownTypeError, is_compatible

MAX_ENDPOINTS = 256


class GCValidationError(EGPError):
    """A genetic code, its graph or its JSON form breaks a rule; the message names the first violation."""


class Row(StrEnum):
    """Row letters of a connection graph."""

    I = "I"  # noqa: E741  (the domain's own name for the input row)
    F = "F"
    A = "A"
    B = "B"
    O = "O"  # noqa: E741
    P = "P"

    # Enum's own __hash__ is a Python function; rows key dicts on every hot path, so hash them as the strings
    # they equal (consistent with equality: Row.A == "A").
    __hash__ = str.__hash__


# The rows as module constants: reaching an enum member as a class attribute is slow (the enum metaclass's
# __getattr__ hook slows every class attribute lookup), and the hot paths name rows constantly.
ROW_I, ROW_F, ROW_A, ROW_B, ROW_O, ROW_P = Row.I, Row.F, Row.A, Row.B, Row.O, Row.P


SOURCE_ROWS: tuple[Row, ...] = (ROW_I, ROW_A, ROW_B)
DESTINATION_ROWS: tuple[Row, ...] = (ROW_F, ROW_A, ROW_B, ROW_O, ROW_P)

# Which destination rows each source row may feed, per graph type (domain spec §1.2, authoritative table).
ALLOWED: dict[CGraphType, dict[Row, frozenset[Row]]] = {
    CGraphType.PRIMITIVE: {ROW_I: frozenset({ROW_A}), ROW_A: frozenset({ROW_O})},
    CGraphType.STANDARD: {
        ROW_I: frozenset({ROW_A, ROW_B}),
        ROW_A: frozenset({ROW_B, ROW_O}),
        ROW_B: frozenset({ROW_O}),
    },
    CGraphType.IF_THEN: {ROW_I: frozenset({ROW_A, ROW_F, ROW_O, ROW_P}), ROW_A: frozenset({ROW_O})},
    CGraphType.IF_THEN_ELSE: {
        ROW_I: frozenset({ROW_A, ROW_B, ROW_F, ROW_O, ROW_P}),
        ROW_A: frozenset({ROW_O}),
        ROW_B: frozenset({ROW_P}),
    },
    CGraphType.EMPTY: {},
}

# The rows (sub-GC rows A/B, condition F, alternate outputs P) each graph type must have; I and O always
# exist.
REQUIRED_ROWS: dict[CGraphType, frozenset[Row]] = {
    CGraphType.PRIMITIVE: frozenset({ROW_A}),
    CGraphType.STANDARD: frozenset({ROW_A, ROW_B}),
    CGraphType.IF_THEN: frozenset({ROW_F, ROW_A, ROW_P}),
    CGraphType.IF_THEN_ELSE: frozenset({ROW_F, ROW_A, ROW_B, ROW_P}),
    CGraphType.EMPTY: frozenset(),
}

Connection = tuple[Row, int]


def infer_graph_type(rows: set[Row] | frozenset[Row]) -> CGraphType:
    """The graph type implied by which optional rows exist (F with B, F, B, A alone, none)."""
    if ROW_F in rows:
        return CGraphType.IF_THEN_ELSE if ROW_B in rows else CGraphType.IF_THEN
    if ROW_B in rows:
        return CGraphType.STANDARD
    if ROW_A in rows:
        return CGraphType.PRIMITIVE
    return CGraphType.EMPTY


@dataclass(frozen=True, slots=True, eq=False)
class ConnectionGraph:
    """An immutable, stable connection graph. Equality and hashing use the canonical JSON."""

    graph_type: CGraphType
    inputs: tuple[int, ...]
    dest_types: Mapping[Row, tuple[int, ...]]
    dest_conns: Mapping[Row, tuple[Connection, ...]]
    source_types: Mapping[Row, tuple[int, ...]]  # As / Bs: the sub-GCs' output types
    _json: str = field(default="", repr=False)
    # Execution plan: rows A, B, O, F, P (empty when absent), each destination's source as an index into
    # the concatenation I ++ As ++ Bs. A plain tuple, precomputed once: evaluation walks it millions of times
    # and enum-keyed dict lookups would cost more than the arithmetic.
    plan: tuple[tuple[int, ...], ...] = field(default=(), repr=False)
    out_types: tuple[int, ...] = field(default=(), repr=False)  # row O's types, read on every hot path
    # The plan rows A, B, O, F, P as functions from a tuple of source values (I ++ As ++ Bs) to the tuple
    # feeding that row: itemgetters and small closures cost a fraction of a comprehension per call.
    routes: tuple[Callable[[tuple[Any, ...]], tuple[Any, ...]], ...] = field(default=(), repr=False)
    # The canonical JSON as UTF-8 bytes, hashed into the signature of every GC with this graph.
    json_bytes: bytes = field(default=b"", repr=False)

    @property
    def outputs(self) -> tuple[int, ...]:
        """Types of the GC's outputs (row O)."""
        return self.out_types

    def source_row_types(self, row: Row) -> tuple[int, ...]:
        """Types of the source endpoints of `row` (I, A or B)."""
        return self.inputs if row is ROW_I else self.source_types[row]

    def canonical_json(self) -> str:
        """The canonical JSON text of this graph (cached)."""
        return self._json

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON object of this graph."""
        return dict(json.loads(self._json))

    def __eq__(self, other: object) -> bool:
        """Graphs are equal when their canonical JSON is."""
        return isinstance(other, ConnectionGraph) and other._json == self._json

    def __hash__(self) -> int:
        """Hash of the canonical JSON."""
        return hash(self._json)

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        """Pickle as the canonical JSON text (the routes are closures; a stored graph is always stable)."""
        return (graph_from_text, (self._json,))


_TYPE_JSON: dict[int, str] = {t.uid: '"' + t.name + '"' for t in TYPES.all()}
# Caches of JSON fragments: interfaces and connections repeat endlessly across GCs, so each is built once.
_TYPES_JSON: dict[tuple[int, ...], str] = {}
_ENDPOINT_JSON: dict[tuple[str | None, int | None, int], str] = {}


def _types_json(types: Sequence[int]) -> str:
    key = tuple(types)
    text = _TYPES_JSON.get(key)
    if text is None:
        text = "[" + ",".join(_TYPE_JSON[t] for t in key) + "]"
        _TYPES_JSON[key] = text
    return text


def _endpoint_json(conn: Connection | None, dtype: int) -> str:
    key = (None, None, dtype) if conn is None else (conn[0], conn[1], dtype)
    text = _ENDPOINT_JSON.get(key)
    if text is None:
        if conn is None:
            text = "[null,null," + _TYPE_JSON[dtype] + "]"
        else:
            text = '["' + str(conn[0].value) + '",' + str(conn[1]) + "," + _TYPE_JSON[dtype] + "]"
        _ENDPOINT_JSON[key] = text
    return text


def canonical_json_text(
    inputs: Sequence[int],
    dest_types: Mapping[Row, Sequence[int]],
    dest_conns: Mapping[Row, Sequence[Connection | None]],
    source_types: Mapping[Row, Sequence[int]],
) -> str:
    """Serialise graph parts to canonical compact JSON (fixed key order, no spaces)."""
    # Built by hand from cached fragments: this runs once per new GC, and json.dumps costs several times more.
    parts = ['{"I":' + _types_json(inputs)]
    for row, key, src_key in _JSON_ROWS:
        types = dest_types.get(row)
        if types is None:
            continue
        parts.append(key + "[" + ",".join(map(_endpoint_json, dest_conns[row], types)) + "]")
        s_types = source_types.get(row)
        if s_types is not None:
            parts.append(src_key + _types_json(s_types))
    return ",".join(parts) + "}"


_JSON_ROWS = tuple((row, '"' + row.value + '":', '"' + row.value + 's":') for row in DESTINATION_ROWS)


PLAN_A, PLAN_B, PLAN_O, PLAN_F, PLAN_P = range(5)
_PLAN_ROWS = (ROW_A, ROW_B, ROW_O, ROW_F, ROW_P)


def _plan(
    n_inputs: int, dest_conns: Mapping[Row, Sequence[Connection]], source_types: Mapping[Row, Sequence[int]]
) -> tuple[tuple[int, ...], ...]:
    """Rows A, B, O, F, P as indices into the concatenated source values I ++ As ++ Bs."""
    offset = {ROW_I: 0, ROW_A: n_inputs, ROW_B: n_inputs + len(source_types.get(ROW_A, ()))}
    return tuple(tuple(offset[r] + i for r, i in dest_conns.get(row, ())) for row in _PLAN_ROWS)


def _empty_route(_values: tuple[Any, ...]) -> tuple[Any, ...]:
    return ()


def router(indices: tuple[int, ...]) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A function picking `indices` out of a tuple, always returning a tuple (even of one or none)."""
    if not indices:
        return _empty_route
    if len(indices) == 1:
        index = indices[0]

        def single(values: tuple[Any, ...]) -> tuple[Any, ...]:
            return (values[index],)

        return single
    return itemgetter(*indices)


def make_graph(
    graph_type: CGraphType,
    inputs: Sequence[int],
    dest_types: Mapping[Row, Sequence[int]],
    dest_conns: Mapping[Row, Sequence[Connection]],
    source_types: Mapping[Row, Sequence[int]],
    *,
    validate: bool = True,
) -> ConnectionGraph:
    """Build an immutable graph; with `validate`, check every rule and require stability.

    Graphs are interned: evolution builds the same few thousand graphs over and over (every rebuilt node of a
    mutation path, every spontaneous GC), and a cached one skips the checks, the JSON and the plan.
    """
    # The interning key, built in one pass over the rows present (this runs for every new GC).
    key_parts: list[Any] = [graph_type, tuple(inputs)]
    for row in DESTINATION_ROWS:
        types = dest_types.get(row)
        if types is not None:
            key_parts.append(row)
            key_parts.append(tuple(types))
            key_parts.append(tuple(dest_conns[row]))
    for row, tag in _SOURCE_TAGS:
        types = source_types.get(row)
        if types is not None:
            key_parts.append(tag)
            key_parts.append(tuple(types))
    key = tuple(key_parts)
    cached = _INTERNED.get(key)
    if cached is not None:
        return cached
    d_types = {row: tuple(dest_types[row]) for row in DESTINATION_ROWS if row in dest_types}
    d_conns = {row: tuple(dest_conns[row]) for row in DESTINATION_ROWS if row in dest_types}
    s_types = {row: tuple(source_types[row]) for row in (ROW_A, ROW_B) if row in source_types}
    text = canonical_json_text(inputs, d_types, d_conns, s_types)
    plan = _plan(len(inputs), d_conns, s_types)
    graph = ConnectionGraph(
        graph_type,
        tuple(inputs),
        d_types,
        d_conns,
        s_types,
        text,
        plan,
        d_types.get(ROW_O, ()),
        tuple(router(row) for row in plan),
        text.encode(),
    )
    if validate:
        check_graph(graph_type, graph.inputs, d_types, d_conns, s_types, require_stable=True)
        if len(_INTERNED) >= _INTERN_LIMIT:
            _INTERNED.clear()  # a crude bound: refilling costs one build per graph still in use
        _INTERNED[key] = graph  # only validated graphs: a later validating caller may take them as they are
    return graph


_INTERN_LIMIT = 200_000
# The source rows and their interning-key tags ("As", "Bs"): an enum member's `.value` is a Python-level
# property, too slow for a key built for every new GC.
_SOURCE_TAGS = ((ROW_A, "As"), (ROW_B, "Bs"))
_INTERNED: dict[tuple[Any, ...], ConnectionGraph] = {}


def check_graph(
    graph_type: CGraphType,
    inputs: Sequence[int],
    dest_types: Mapping[Row, Sequence[int]],
    dest_conns: Mapping[Row, Sequence[Connection | None]],
    source_types: Mapping[Row, Sequence[int]],
    *,
    require_stable: bool,
) -> None:
    """Raise GCValidationError naming the first broken rule of the connection-graph table."""
    if graph_type not in ALLOWED:
        raise GCValidationError(f"graph type {graph_type.name} is not supported")
    if ROW_O not in dest_types:
        raise GCValidationError("graph has no O row")
    present = {row for row in dest_types if row is not ROW_O}
    required = REQUIRED_ROWS[graph_type]
    for row in sorted(required - present):
        raise GCValidationError(f"{graph_type.name} graph requires row {row.value}")
    for row in sorted(present - required):
        raise GCValidationError(f"{graph_type.name} graph may not have row {row.value}")
    for row in (ROW_A, ROW_B):
        if (row in dest_types) != (row in source_types):
            raise GCValidationError(f"row {row.value} must have both a destination and a source interface")
    if not inputs and not dest_types[ROW_O]:
        raise GCValidationError("graph has neither inputs nor outputs")
    if len(inputs) > MAX_ENDPOINTS:
        raise GCValidationError(f"row I has {len(inputs)} endpoints (at most {MAX_ENDPOINTS})")
    for row, types in source_types.items():
        if len(types) > MAX_ENDPOINTS:
            raise GCValidationError(f"row {row.value}s has {len(types)} endpoints (at most {MAX_ENDPOINTS})")
    for row, types in dest_types.items():
        if len(types) > MAX_ENDPOINTS:
            raise GCValidationError(f"row {row.value} has {len(types)} endpoints (at most {MAX_ENDPOINTS})")
        if len(dest_conns.get(row, ())) != len(types):
            raise GCValidationError(
                f"row {row.value} has {len(dest_conns.get(row, ()))} connections for {len(types)} types"
            )
    if ROW_F in dest_types:
        f_types = dest_types[ROW_F]
        if len(f_types) != 1 or TYPES.name(f_types[0]) != "bool":
            raise GCValidationError("row F must have exactly one bool endpoint")
    if ROW_P in dest_types and tuple(dest_types[ROW_P]) != tuple(dest_types[ROW_O]):
        raise GCValidationError("row P must have the same endpoint types as row O")
    allowed = ALLOWED[graph_type]
    for row in DESTINATION_ROWS:
        if row not in dest_types:
            continue
        for idx, (conn, dtype) in enumerate(zip(dest_conns[row], dest_types[row], strict=True)):
            if conn is None:
                if require_stable:
                    raise GCValidationError(
                        f"destination {row.value}[{idx}] is not connected (unstable graph)"
                    )
                continue
            src_row, src_idx = conn
            if row not in allowed.get(src_row, frozenset()):
                raise GCValidationError(
                    f"{graph_type.name} graph may not connect row {src_row.value} to row {row.value}"
                    f" ({src_row.value}[{src_idx}] -> {row.value}[{idx}])"
                )
            src_types = inputs if src_row is ROW_I else source_types.get(src_row, ())
            if not 0 <= src_idx < len(src_types):
                raise GCValidationError(
                    f"{row.value}[{idx}] references {src_row.value}[{src_idx}], which does not exist"
                )
            stype = src_types[src_idx]
            if not is_compatible(stype, dtype):
                raise GCValidationError(
                    f"{row.value}[{idx}] of type {TYPES.name(dtype)} cannot take {src_row.value}[{src_idx}]"
                    f" of type {TYPES.name(stype)}"
                )


def _type_uids(names: Sequence[str], where: str) -> tuple[int, ...]:
    """The uids of type names; GCValidationError naming `where` for an unknown one."""
    try:
        return tuple(TYPES.uid(name) for name in names)
    except UnknownTypeError as error:
        raise GCValidationError(f"graph {where}: {error}") from None


_BY_TEXT: dict[str, ConnectionGraph] = {}


def graph_from_text(text: str) -> ConnectionGraph:
    """graph_from_json of a stored JSON text (a stable graph), cached by the text.

    Reading GCs back from a Gene Pool parses one graph per GC, and most GCs share a few hundred graph texts
    (every node with the same shape and types has the same graph). A graph is immutable and a text that passed
    validation once always does, so each distinct text is parsed and checked once per process. Invalid JSON
    is a GCValidationError like any other bad graph.
    """
    graph = _BY_TEXT.get(text)
    if graph is None:
        try:
            obj = json.loads(text)
        except (json.JSONDecodeError, TypeError) as error:
            raise GCValidationError(f"graph is not valid JSON: {error}") from None
        graph = graph_from_json(obj)
        if len(_BY_TEXT) >= _INTERN_LIMIT:
            _BY_TEXT.clear()
        _BY_TEXT[text] = graph
    return graph


def graph_from_json(obj: Any, *, require_stable: bool = True) -> ConnectionGraph:
    """Parse and validate a canonical JSON graph; raises GCValidationError on the first violation.

    The JSON shape is json_shapes.GraphShape's; the types, the rules of the graph table and the canonical
    form are checked here.
    """
    try:
        shape = GraphShape.model_validate(obj)
    except ValidationError as error:
        raise GCValidationError(graph_problem(error)) from None
    inputs = _type_uids(shape.I, "row I")
    dest_types: dict[Row, tuple[int, ...]] = {}
    dest_conns: dict[Row, tuple[Connection, ...]] = {}
    source_types: dict[Row, tuple[int, ...]] = {}
    for row in DESTINATION_ROWS:
        entries: list[tuple[str, int, str]] | None = getattr(shape, row.value)
        if entries is None:
            continue
        dest_types[row] = tuple(
            _type_uids([type_name], f"{row.value}[{idx}]")[0] for idx, (_, _, type_name) in enumerate(entries)
        )
        dest_conns[row] = tuple((Row(src_row), src_idx) for src_row, src_idx, _ in entries)
    for row, names in ((ROW_A, shape.As), (ROW_B, shape.Bs)):
        if names is not None:
            source_types[row] = _type_uids(names, f"row {row.value}s")
    if ROW_O not in dest_types:
        raise GCValidationError("graph has no O row")
    graph_type = infer_graph_type(set(dest_types))
    check_graph(graph_type, inputs, dest_types, dest_conns, source_types, require_stable=require_stable)
    graph = make_graph(graph_type, inputs, dest_types, dest_conns, source_types, validate=False)
    if graph.canonical_json() != json.dumps(obj, separators=(",", ":")):
        raise GCValidationError("graph JSON is not in canonical form (key order, spacing or types)")
    return graph
