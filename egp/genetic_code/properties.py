"""The 64-bit properties bitfield of a genetic code (domain spec §1.3)."""

from __future__ import annotations

from enum import IntEnum


class GCType(IntEnum):
    """What kind of GC this is: a codon (a primitive leaf) or an ordinary composite."""

    CODON = 0
    ORDINARY = 1


class CGraphType(IntEnum):
    """The shape of a connection graph; the values are stored in bits 6:3 of the properties."""

    IF_THEN = 0
    IF_THEN_ELSE = 1
    EMPTY = 2
    FOR_LOOP = 3
    WHILE_LOOP = 4
    STANDARD = 5
    PRIMITIVE = 6
    UNKNOWN = 15


GC_TYPE_MASK = 0x7
GRAPH_TYPE_SHIFT = 3
GRAPH_TYPE_MASK = 0xF << GRAPH_TYPE_SHIFT
CONSTANT = 1 << 8
DETERMINISTIC = 1 << 9
ABSTRACT = 1 << 10
SIDE_EFFECTS = 1 << 11
STATIC_CREATION = 1 << 12
IS_PGC = 1 << 13
# gctsp byte (bits 23:16): for codons bit 0 is `literal`, bit 6 `python`; bit 6 is `python` for ordinary GCs
# too.
LITERAL = 1 << 16
PYTHON = 1 << 22
# EGP-specific runtime hint in a reserved bit: the codon's template runs elementwise on numpy arrays.
VECTORISABLE = 1 << 25
KNOWN_BITS = (
    GC_TYPE_MASK
    | GRAPH_TYPE_MASK
    | CONSTANT
    | DETERMINISTIC
    | ABSTRACT
    | SIDE_EFFECTS
    | STATIC_CREATION
    | IS_PGC
    | LITERAL
    | PYTHON
    | VECTORISABLE
)


def make_properties(
    gc_type: GCType,
    graph_type: CGraphType,
    *,
    constant: bool = False,
    deterministic: bool = True,
    side_effects: bool = False,
    is_pgc: bool = False,
    literal: bool = False,
    vectorisable: bool = False,
) -> int:
    """Pack the named flags into a properties integer."""
    value = int(gc_type) | (int(graph_type) << GRAPH_TYPE_SHIFT) | PYTHON
    if constant:
        value |= CONSTANT
    if deterministic:
        value |= DETERMINISTIC
    if side_effects:
        value |= SIDE_EFFECTS
    if is_pgc:
        value |= IS_PGC
    if literal:
        value |= LITERAL
    if vectorisable:
        value |= VECTORISABLE
    return value


def gc_type_of(properties: int) -> GCType:
    """The GC type stored in a properties integer."""
    return GCType(properties & GC_TYPE_MASK)


def graph_type_of(properties: int) -> CGraphType:
    """The graph type stored in a properties integer."""
    return CGraphType((properties & GRAPH_TYPE_MASK) >> GRAPH_TYPE_SHIFT)


def merge_properties(graph_type: CGraphType, a: int, b: int | None) -> int:
    """Properties of a new ordinary GC built from sub-GCs with properties `a` and `b` (b may be absent)."""
    b_value = a if b is None else b
    return make_properties(
        GCType.ORDINARY,
        graph_type,
        constant=bool(a & CONSTANT and b_value & CONSTANT),
        deterministic=bool(a & DETERMINISTIC and b_value & DETERMINISTIC),
        side_effects=bool(a & SIDE_EFFECTS or b_value & SIDE_EFFECTS),
        is_pgc=bool(a & IS_PGC or b_value & IS_PGC),
        vectorisable=bool(a & VECTORISABLE and b_value & VECTORISABLE),
    )
