"""The limits on rows from another database: whatever the text, the bounded parse returns or raises one
RowLimitError with a reason, never RecursionError, MemoryError or anything else."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from egp.storage.row_limits import MAX_DEPTH, RowLimitError, check_json_text, depth_of, loads_bounded
from egp.storage.rows import gc_json_from_row

JSON_TOKENS = st.sampled_from(
    ["[", "]", "{", "}", '"', "\\", ",", ":", "0", "1e999", "NaN", "-", "true", "null", "a"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(JSON_TOKENS, max_size=300).map("".join))
def test_any_bracket_soup_parses_or_is_one_row_limit_error(text: str) -> None:
    """Random JSON-ish text: a value or a RowLimitError, nothing else escapes."""
    try:
        loads_bounded(text)
    except RowLimitError as error:
        assert str(error)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.text(string.ascii_letters, max_size=3), inner, max_size=3)
        ),
        max_leaves=40,
    )
)
def test_depth_matches_the_parsed_nesting(value: object) -> None:
    """depth_of counts what json nests, strings with brackets in them included."""

    def nesting(v: object) -> int:
        if isinstance(v, list):
            return 1 + max((nesting(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((nesting(x) for x in v.values()), default=0)
        return 0

    text = json.dumps(value)
    if nesting(value) <= MAX_DEPTH:
        assert depth_of(text) == nesting(value)
    else:
        with pytest.raises(RowLimitError, match="nested more than"):
            depth_of(text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than"),
        ('"' + "x" * 20_000_000 + '"', "characters long"),
        ('{"a":1,"a":2}', "duplicate key"),
        ("[NaN]", "NaN"),
        ("[-Infinity]", "Infinity"),
        ("[1e999]", "not finite"),
        ("[" + "9" * 100_000 + "]", "integer literal"),
        ('["' + "y" * 5000 + '"]', "a string of 5000 characters"),
        ("[1,", "not valid JSON"),
    ],
)
def test_each_hostile_text_names_its_fault(text: str, fragment: str) -> None:
    """Each classic hostile input is refused with a reason that says which limit it broke."""
    with pytest.raises(RowLimitError, match=fragment):
        loads_bounded(text)


def test_the_cheap_guard_passes_an_ordinary_graph_without_scanning() -> None:
    """A real canonical graph passes check_json_text unchanged; a non-string graph is refused."""
    graph = '{"I":["float","float"],"A":[["I",0,"float"]],"As":["float"],"O":[["A",0,"float"]]}'
    assert check_json_text(graph) is graph
    with pytest.raises(RowLimitError, match="not JSON text"):
        check_json_text(b"{}")


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "signature": st.binary(max_size=40),
            "graph": st.one_of(st.text(max_size=50), st.binary(max_size=10), st.integers(), st.none()),
            "gca": st.none() | st.binary(max_size=33),
            "gcb": st.none() | st.binary(max_size=33),
            "ancestora": st.none() | st.binary(max_size=33),
            "ancestorb": st.none() | st.binary(max_size=33),
            "pgc": st.none() | st.binary(max_size=33),
            "creator": st.one_of(st.uuids(), st.text(max_size=10), st.integers()),
            "created": st.one_of(st.datetimes(), st.text(max_size=10), st.integers()),
            "properties": st.one_of(st.integers(), st.text(max_size=5), st.none()),
            "code_depth": st.one_of(st.integers(), st.none()),
            "num_codes": st.integers(),
            "num_codons": st.integers(),
            "generation": st.integers(),
            "codon_name": st.none() | st.text(max_size=5),
            "codon_inline": st.none() | st.text(max_size=5) | st.integers(),
            "codon_description": st.none() | st.text(max_size=5),
        }
    )
)
def test_a_row_of_wrong_types_everywhere_raises_an_ordinary_exception(row: dict[str, object]) -> None:
    """gc_json_from_row on garbage raises an Exception admission catches (or returns an object), never a
    BaseException-only error such as RecursionError escaping the row."""
    try:
        gc_json_from_row(row)
    except Exception as error:  # admission quarantines any Exception: the contract
        assert not isinstance(error, RecursionError | MemoryError)
