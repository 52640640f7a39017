"""The JSON shapes of GCs, graphs and codon definitions: malformed input is one clear line, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from gc_test_support import codon, square_plus_x
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from egp.genetic_code.codons import CodonDefinitionError, CodonRegistry
from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import GCValidationError, graph_from_json
from egp.genetic_code.serialization import from_json, to_json

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


def _one_line(error: BaseException) -> str:
    message = str(error)
    assert message and "\n" not in message, message
    return message


def _store() -> tuple[GeneticCode, dict[bytes, GeneticCode]]:
    store: dict[bytes, GeneticCode] = {}
    return square_plus_x(store), store


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_as_a_graph_is_a_graph_or_one_line(value: Any) -> None:
    """Arbitrary JSON given as a graph either parses or raises GCValidationError with one line."""
    try:
        graph_from_json(value)
    except GCValidationError as error:
        _one_line(error)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(["signature", "graph", "gca", "creator", "created", "properties", "generation", "codon"]),
    JSON,
)
def test_any_value_in_a_gc_field_is_refused_in_one_line(field: str, value: Any) -> None:
    """Replacing one field of a valid GC's JSON by arbitrary JSON never crashes: one line, or the same GC."""
    gc, store = _store()
    obj = to_json(gc) | {field: value}
    try:
        assert from_json(obj, store) == gc
    except GCValidationError as error:
        _one_line(error)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_json_as_a_codon_definition_is_refused_in_one_line(value: Any) -> None:
    """A family file entry of arbitrary JSON raises CodonDefinitionError naming the codon and the file."""
    with pytest.raises(CodonDefinitionError) as raised:
        CodonRegistry({"f": json.dumps({"bad": value})})
    assert _one_line(raised.value).startswith("codon bad")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"signature": None}, "signature must not be null"),
        ({"gca": 7}, "gca must be a hex signature or null"),
        ({"gca": "zz"}, "gca: "),
        ({"creator": 5}, "creator 5 is not a UUID"),
        ({"created": "yesterday"}, "created 'yesterday' is not an ISO timestamp"),
        ({"properties": -1}, "properties must be an integer in [0, 9223372036854775807], got -1"),
        ({"code_depth": 2.0}, "code_depth must be an integer in [0, 2147483647], got 2.0"),
        ({"codon": 5}, "codon must be an object of name, inline and description"),
    ],
)
def test_malformed_gc_fields_name_the_field(change: dict[str, Any], message: str) -> None:
    """Each malformed field of a GC's JSON is named with what it must be."""
    gc, store = _store()
    with pytest.raises(GCValidationError, match=re.escape(message)):
        from_json(to_json(gc) | change, store)


def test_a_codon_json_needs_its_template() -> None:
    """A codon's JSON without its template does not match the registry's."""
    obj = to_json(codon("float_add"))
    del obj["codon"]
    with pytest.raises(GCValidationError, match="does not match the registry's template"):
        from_json(obj, {})


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ({"I": "float", "O": []}, "graph row I must be a list of type names"),
        ({"I": [1], "O": []}, "graph row I[0] must be a list of type names"),
        ({"I": ["float"], "O": {"x": 1}}, "graph row O must be a list"),
        (
            {"I": ["float"], "O": [["I", 0, "float", 1]]},
            "graph O[0] must be [source_row, source_index, type]",
        ),
        ({"I": ["float"], "O": [[None, 0, "float"]]}, "destination O[0] is not connected (unstable graph)"),
        ({"I": ["float"], "O": [["I", 0, 3]]}, "graph O[0] type must be a type name"),
        ({"I": ["quaternion"], "O": []}, "graph row I: "),
    ],
)
def test_malformed_graphs_name_the_row(graph: Any, message: str) -> None:
    """Each malformed graph names the row (and entry) and what it must be."""
    with pytest.raises(GCValidationError, match=re.escape(message)):
        graph_from_json(graph)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"inline": "1", "inputs": [], "outputs": ["int"], "description": "", "vectorizable": True},
            "codon bad in f.json has unknown key 'vectorizable'",
        ),
        (
            {"inline": 1, "inputs": [], "outputs": ["int"], "description": ""},
            "codon bad in f.json: inline: Input should be a valid string (got 1)",
        ),
        (
            {"inline": "1", "inputs": [], "outputs": ["int"], "description": "", "literal": "yes"},
            "codon bad in f.json: literal: Input should be a valid boolean (got 'yes')",
        ),
    ],
)
def test_malformed_codon_fields_name_the_key(entry: dict[str, Any], message: str) -> None:
    """A misspelt flag, a template that is not text or a flag that is not a boolean is named."""
    with pytest.raises(CodonDefinitionError, match=re.escape(message)):
        CodonRegistry({"f": json.dumps({"bad": entry})})


def test_a_family_file_must_be_an_object() -> None:
    """A family file holding a list is one line naming the file."""
    with pytest.raises(
        CodonDefinitionError, match=re.escape("f.json must be an object of codon definitions")
    ):
        CodonRegistry({"f": "[]"})
