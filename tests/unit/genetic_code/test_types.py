"""The endpoint type system: hierarchy, compatibility and downcast tables, UIDs, unknown types."""

from __future__ import annotations

import pytest

from egp.genetic_code.types import TYPES, TypeRegistry, UnknownTypeError, is_compatible, is_downcast

CHAIN = ["bool", "int", "Integral", "Real", "Number", "object"]


def uid(name: str) -> int:
    """The UID of a type name."""
    return TYPES.uid(name)


@pytest.mark.parametrize("position", range(len(CHAIN)))
def test_the_numeric_chain_is_compatible_upwards(position: int) -> None:
    """bool → int → Integral → Real → Number → object: each feeds itself and every ancestor."""
    source = CHAIN[position]
    for destination in CHAIN[position:]:
        assert is_compatible(uid(source), uid(destination)), (source, destination)
        assert not is_downcast(uid(source), uid(destination))
    for destination in CHAIN[:position]:
        assert not is_compatible(uid(source), uid(destination)), (source, destination)
        assert is_downcast(uid(source), uid(destination)), (source, destination)


@pytest.mark.parametrize(
    ("source", "destination", "compatible", "downcast"),
    [
        ("float", "Real", True, False),
        ("float", "Number", True, False),
        ("float", "object", True, False),
        ("Real", "float", False, True),
        ("int", "float", False, False),
        ("float", "int", False, False),
        ("bool", "float", False, False),
        ("list[int]", "Sequence", True, False),
        ("str", "Sequence", True, False),
        ("Sequence", "str", False, True),
        ("list[int]", "list[float]", False, False),
        ("list[bool]", "list[int]", False, False),
        ("str", "list[str]", False, False),
        ("EGCode", "GCABC", True, False),
        ("float", "float", True, False),
    ],
)
def test_compatibility_and_downcast_table(
    source: str, destination: str, compatible: bool, downcast: bool
) -> None:
    """Selected pairs of the compatibility (same or ancestor) and downcast (strict descendant) relations."""
    assert is_compatible(uid(source), uid(destination)) is compatible
    assert is_downcast(uid(source), uid(destination)) is downcast


def test_every_type_reaches_object_and_uids_are_stable() -> None:
    """object is the root of every type; a few UIDs are pinned (they are stored in the Gene Pool)."""
    for egp_type in TYPES.all():
        assert is_compatible(egp_type.uid, uid("object"))
        assert TYPES.get(egp_type.uid) == TYPES.get(egp_type.name)
    assert (uid("object"), uid("int"), uid("bool"), uid("float"), uid("str")) == (1, 5, 6, 7, 9)
    assert TYPES.get("Number").abstract and not TYPES.get("float").abstract
    assert len(TYPES) >= 12


def test_unknown_types_raise() -> None:
    """An unknown name or UID raises UnknownTypeError naming it."""
    with pytest.raises(UnknownTypeError, match="unknown type 'complex128'"):
        TYPES.uid("complex128")
    with pytest.raises(UnknownTypeError, match="unknown type 9999"):
        TYPES.name(9999)
    assert "int" in TYPES and 9999 not in TYPES


def test_registry_definition_errors() -> None:
    """Duplicate names, duplicate UIDs, unknown parents and cycles are refused."""
    with pytest.raises(ValueError, match="type 'a' is defined twice"):
        TypeRegistry([{"name": "a", "uid": 1}, {"name": "a", "uid": 2}])
    with pytest.raises(ValueError, match="type UIDs must be unique"):
        TypeRegistry([{"name": "a", "uid": 1}, {"name": "b", "uid": 1}])
    with pytest.raises(ValueError, match="type 'b' names unknown parent 'c'"):
        TypeRegistry([{"name": "a", "uid": 1}, {"name": "b", "uid": 2, "parents": ["c"]}])
    with pytest.raises(ValueError, match="cycle"):
        TypeRegistry([{"name": "a", "uid": 1, "parents": ["b"]}, {"name": "b", "uid": 2, "parents": ["a"]}])
