"""The mutation primitives. Each takes a GC and returns a new, stable GC — or raises Stillborn.

Mutations never modify a GC: they build an embryo for the changed node, stabilise it, and rebuild only the
path from that node up to the root (O(depth): nodes are picked by index using the stored subtree sizes). When
the new node keeps the old node's interface the ancestors' graphs are reused as they are; otherwise the
immediate parent is rewired (its old connections kept where still valid) and stabilised. Every new GC records
the GC it replaced as `ancestora` and the pGC being executed as `pgc`.

They are exposed to pGC codon templates through `egp.physics.registry.PHYSICS_NAMES` (`stack({i0})`,
`crossover({i0})`, …) and find their context (randomness, codon set, donors) in `egp.physics.context`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any

from egp.genetic_code.codons import codon_registry
from egp.genetic_code.embryo import EmbryonicGC
from egp.genetic_code.gc import GeneticCode, build_gc, make_codon, rebuild_gc, rebuild_lineage_gc
from egp.genetic_code.graph import ROW_A, ROW_B, ROW_I, ROW_O, Connection, Row
from egp.genetic_code.properties import IS_PGC, LITERAL, CGraphType
from egp.genetic_code.signature import creator_bytes
from egp.genetic_code.types import TYPES, is_compatible
from egp.physics.context import PhysicsContext, Stillborn
from egp.physics.stabilise import candidates, stabilise

Path = list[tuple[GeneticCode, Row]]
_STANDARD = CGraphType.STANDARD
_FLOAT, _INT, _BOOL = TYPES.uid("float"), TYPES.uid("int"), TYPES.uid("bool")


def _lookup(ctx: PhysicsContext, signature: bytes) -> GeneticCode:
    gc = ctx.store.get(signature)
    if gc is None:
        gc = codon_registry().get(signature)
        if gc is None:
            raise Stillborn(f"sub-GC {signature.hex()[:12]} is not available")
    return gc


def random_node(gc: GeneticCode, ctx: PhysicsContext, *, composite: bool = False) -> tuple[Path, GeneticCode]:
    """A node chosen uniformly among the tree's nodes (codons and composites), descending on subtree sizes."""
    randbelow = ctx.rng._randbelow  # type: ignore[attr-defined]  # randrange(n) without its argument checks
    store_get = ctx.store.get
    path: Path = []
    node = gc
    while node.codon is None:
        signature = node.gca
        gca = None if signature is None else (store_get(signature) or _lookup(ctx, signature))
        signature = node.gcb
        gcb = None if signature is None else (store_get(signature) or _lookup(ctx, signature))
        size_a = gca.num_codes if gca is not None else 0
        size_b = gcb.num_codes if gcb is not None else 0
        pick = randbelow(1 + size_a + size_b)
        if pick == 0:
            break
        if pick <= size_a:
            assert gca is not None
            path.append((node, ROW_A))
            node = gca
        else:
            assert gcb is not None
            path.append((node, ROW_B))
            node = gcb
    else:
        if composite:
            if not path:
                raise Stillborn("a codon has no composite node")
            parent, _ = path.pop()
            return path, parent
    return path, node


def _child(parent: GeneticCode, row: Row, ctx: PhysicsContext) -> GeneticCode:
    signature = parent.gca if row is ROW_A else parent.gcb
    assert signature is not None
    return _lookup(ctx, signature)


def _valid(embryo: EmbryonicGC, conn: Connection, dtype: int) -> bool:
    types = embryo.source_types(conn[0])
    return conn[1] < len(types) and is_compatible(types[conn[1]], dtype)


def replace_at(path: Path, node: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """The root after putting `node` where the last path step points, rebuilding the path bottom-up.

    Every node on the path becomes a new GC whose ancestor is the node it replaces. While the replaced
    node's interface is unchanged the parent's graph is reused as it is (the fast path, taken by almost every
    level); otherwise the parent is rewired, keeping its old connections where still valid, and stabilised.
    """
    child = node
    store = ctx.store
    store_get = store.get
    new_gcs = ctx.new_gcs
    pgc, creator, created = ctx.pgc, ctx.creator, ctx.created
    creator_sig = creator_bytes(creator)
    # The node the child replaces, when known: after a level rebuilt as it was, the next level's old node
    # is that level's parent (no lookup needed).
    replaced: GeneticCode | None = None
    for parent, row in reversed(path):
        if row is ROW_A:
            old_sig, other_sig = parent.gca, parent.gcb
        else:
            old_sig, other_sig = parent.gcb, parent.gca
        assert old_sig is not None
        old = replaced if replaced is not None else (store_get(old_sig) or _lookup(ctx, old_sig))
        replaced = None
        other = None if other_sig is None else (store_get(other_sig) or _lookup(ctx, other_sig))
        gca, gcb = (child, other) if row is ROW_A else (other, child)
        old_graph, new_graph = old.graph, child.graph
        if old_graph is new_graph or (
            new_graph.inputs == old_graph.inputs and new_graph.out_types == old_graph.out_types
        ):
            assert gca is not None
            if gcb is not None and pgc is not None:
                rebuilt = rebuild_lineage_gc(parent, gca, gcb, pgc, creator, creator_sig, created)
            else:
                rebuilt = rebuild_gc(
                    parent, gca, gcb, ancestora=parent.signature, pgc=pgc, creator=creator, created=created
                )
            replaced = parent
            stored = store_get(rebuilt.signature)
            if stored is None:
                store[rebuilt.signature] = rebuilt
                new_gcs.append(rebuilt)
                child = rebuilt
            else:
                child = stored
            continue
        embryo = EmbryonicGC(
            parent.graph_type,
            list(parent.inputs),
            list(parent.outputs),
            gca,
            gcb,
            ancestora=parent.signature,
            pgc=pgc,
            creator=creator,
        )
        for dest_row, conns in parent.graph.dest_conns.items():
            types = embryo.dest_types[dest_row]
            for idx, conn in enumerate(conns):
                if idx < len(types) and _valid(embryo, conn, types[idx]):
                    embryo.dest_conns[dest_row][idx] = conn
        child = stabilise(embryo, ctx)
    return child


def _adopt(target: GeneticCode, node: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """A new GC computing `node` in place of the whole target, with the target and the pGC as its lineage.

    A crossover or deletion at the root yields an existing GC (a donor's node, the target's own sub-GC, a
    codon): returned as it is, the offspring would not record the target as its ancestor nor the pGC that
    made it.
    """
    if node.codon is None:
        gca = _lookup(ctx, node.gca) if node.gca is not None else None
        gcb = _lookup(ctx, node.gcb) if node.gcb is not None else None
        adopted = build_gc(node.graph, gca, gcb, ancestora=target.signature, pgc=ctx.pgc, creator=ctx.creator)
        return ctx.keep(adopted)
    # A codon cannot carry a lineage: wrap it in a STANDARD GC that runs it (A) beside an unused copy (B).
    embryo = node_embryo(node, node, node, ctx, target)
    embryo.dest_conns[ROW_A] = [(ROW_I, k) for k in range(len(node.inputs))]
    embryo.dest_conns[ROW_B] = [(ROW_I, k) for k in range(len(node.inputs))]
    embryo.dest_conns[ROW_O] = [(ROW_A, k) for k in range(len(node.outputs))]
    return stabilise(embryo, ctx)


def finish(target: GeneticCode, path: Path, node: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """The offspring with `node` in place at the end of `path`: the path rebuilt up to a new root, its lineage
    recorded; Stillborn if it changed the interface or grew past the codon limit."""
    if not path and (node.ancestora != target.signature or node.pgc != ctx.pgc or node.codon is not None):
        node = _adopt(target, node, ctx)
    elif path:
        parent, row = path[-1]
        old = _lookup(ctx, parent.gca if row is ROW_A else parent.gcb)  # type: ignore[arg-type]
        if (
            node.graph.inputs == old.graph.inputs
            and node.graph.out_types == old.graph.out_types
            and target.num_codons - old.num_codons + node.num_codons > ctx.max_codons
        ):
            # Same interface, so every node up the path is rebuilt as it is: the offspring's size is known
            # now, and an offspring over the limit is stillborn without building its path.
            raise Stillborn(f"offspring would exceed the codon limit ({ctx.max_codons})")
    result = replace_at(path, node, ctx)
    if result.inputs != target.inputs or result.outputs != target.outputs:
        raise Stillborn("mutation changed the GC's interface")
    if result.num_codons > ctx.max_codons:
        raise Stillborn(f"offspring has {result.num_codons} codons (limit {ctx.max_codons})")
    return result


def _choose(rng: random.Random, items: Sequence[GeneticCode]) -> GeneticCode:
    if not items:
        raise Stillborn("no suitable codon")
    return items[rng.randrange(len(items))]


def node_embryo(
    node: GeneticCode, gca: GeneticCode, gcb: GeneticCode, ctx: PhysicsContext, ancestor: GeneticCode
) -> EmbryonicGC:
    """An unconnected STANDARD embryo with `node`'s interface over `gca` and `gcb`, descended from `ancestor`
    and made by the running pGC."""
    return EmbryonicGC(
        _STANDARD,
        list(node.inputs),
        list(node.outputs),
        gca,
        gcb,
        ancestora=ancestor.signature,
        pgc=ctx.pgc,
        creator=ctx.creator,
    )


def stack(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Put a codon after a node: one of the node's outputs becomes codon(node outputs, inputs)."""
    return _stack(target, ctx, bool(target.properties & IS_PGC))


def _stack(target: GeneticCode, ctx: PhysicsContext, pgc_kind: bool) -> GeneticCode:
    """stack, with codons of the given kind (an insertion passes the outer target's kind)."""
    path, node = random_node(target, ctx)
    rng = ctx.rng
    outputs = node.graph.out_types
    out_idx = rng.randrange(len(outputs))
    codon = _choose(rng, ctx.producing(pgc_kind, outputs[out_idx]))
    embryo = node_embryo(node, node, codon, ctx, node)
    embryo.dest_conns[ROW_A] = [(ROW_I, k) for k in range(len(node.inputs))]
    b_conns = embryo.dest_conns[ROW_B]
    for k, dtype in enumerate(codon.inputs):
        if k == 0 and is_compatible(outputs[out_idx], dtype):
            feeds = [(ROW_A, out_idx)]
        else:
            feeds = [(ROW_A, j) for j, t in enumerate(outputs) if is_compatible(t, dtype)]
        b_conns[k] = feeds[rng.randrange(len(feeds))] if feeds else None  # (a draw even from one choice)
    o_conns: list[Connection | None] = [(ROW_A, j) for j in range(len(outputs))]
    o_conns[out_idx] = (ROW_B, 0)
    embryo.dest_conns[ROW_O] = o_conns
    return finish(target, path, stabilise(embryo, ctx), ctx)


def inverse_stack(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Put a codon before a node: one of the node's inputs becomes codon(inputs)."""
    return _inverse_stack(target, ctx, bool(target.properties & IS_PGC))


def _inverse_stack(target: GeneticCode, ctx: PhysicsContext, pgc_kind: bool) -> GeneticCode:
    """inverse_stack, with codons of the given kind (an insertion passes the outer target's kind)."""
    path, node = random_node(target, ctx)
    inputs = node.graph.inputs
    if not inputs:
        raise Stillborn("node has no inputs to feed")
    rng = ctx.rng
    in_idx = rng.randrange(len(inputs))
    codon = _choose(rng, ctx.feeding(pgc_kind, inputs[in_idx]))
    embryo = node_embryo(node, codon, node, ctx, node)
    a_conns = embryo.dest_conns[ROW_A]
    for k, dtype in enumerate(codon.inputs):
        feeds = [(ROW_I, j) for j, t in enumerate(inputs) if is_compatible(t, dtype)]
        a_conns[k] = feeds[rng.randrange(len(feeds))] if feeds else None
    b_conns: list[Connection | None] = [(ROW_I, j) for j in range(len(inputs))]
    b_conns[in_idx] = (ROW_A, 0)
    embryo.dest_conns[ROW_B] = b_conns
    embryo.dest_conns[ROW_O] = [(ROW_B, j) for j in range(len(node.outputs))]
    return finish(target, path, stabilise(embryo, ctx), ctx)


def wrap(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Wrap a node with a codon in a new GC of the same interface, wired at random."""
    path, node = random_node(target, ctx)
    codon = _choose(ctx.rng, ctx.functions(bool(target.properties & IS_PGC)))
    embryo = (
        node_embryo(node, node, codon, ctx, node)
        if ctx.rng.random() < 0.5
        else node_embryo(node, codon, node, ctx, node)
    )
    return finish(target, path, stabilise(embryo, ctx), ctx)


def harmony(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Set a codon beside a node: the new node's interface is both side by side; the parent is rewired."""
    path, node = random_node(target, ctx)
    if not path:
        raise Stillborn("harmony at the root would change the GC's interface")
    codon = _choose(ctx.rng, ctx.codons_for(target))
    embryo = EmbryonicGC(
        _STANDARD,
        [*node.inputs, *codon.inputs],
        [*node.outputs, *codon.outputs],
        node,
        codon,
        ancestora=node.signature,
        pgc=ctx.pgc,
        creator=ctx.creator,
    )
    embryo.dest_conns[ROW_A] = [(ROW_I, k) for k in range(len(node.inputs))]
    embryo.dest_conns[ROW_B] = [(ROW_I, len(node.inputs) + k) for k in range(len(codon.inputs))]
    out_conns: list[Connection | None] = [(ROW_A, k) for k in range(len(node.outputs))]
    embryo.dest_conns[ROW_O] = out_conns + [(ROW_B, k) for k in range(len(codon.outputs))]
    return finish(target, path, stabilise(embryo, ctx), ctx)


def _insert(target: GeneticCode, ctx: PhysicsContext, where: Row) -> GeneticCode:
    path, node = random_node(target, ctx, composite=True)
    row = ROW_A if where is ROW_A else ROW_B
    signature = node.gca if row is ROW_A else node.gcb
    if signature is None:
        raise Stillborn(f"node has no row {row.value}")
    # Inserting above A or B puts a codon before that sub-GC; above O puts it after sub-GC B. The codon
    # comes from the outer target's kind (a solution's function set, or the mutation codons of a pGC).
    sub_path: Path = [*path, (node, row)]
    sub = _lookup(ctx, signature)
    pgc_kind = bool(target.properties & IS_PGC)
    new_sub = _inverse_stack(sub, ctx, pgc_kind) if where is not ROW_O else _stack(sub, ctx, pgc_kind)
    return finish(target, sub_path, new_sub, ctx)


def insert_above_a(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Insert a codon above row A of a composite node (before its sub-GC A)."""
    return _insert(target, ctx, ROW_A)


def insert_above_b(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Insert a codon above row B of a composite node (before its sub-GC B)."""
    return _insert(target, ctx, ROW_B)


def insert_above_o(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Insert a codon above row O of a composite node (after its sub-GC B)."""
    return _insert(target, ctx, ROW_O)


def crossover(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Replace a node with an interface-compatible node of another GC (a donor from the population)."""
    donors = ctx.donors(target)
    position = ctx.donor_index.get(target.signature) if ctx.donor_index is not None else None
    if ctx.donor_index is None:
        donors = [d for d in donors if d.signature != target.signature]
        count = len(donors)
    else:
        # The donors without the target, by index arithmetic instead of a copy of the list.
        count = len(donors) - (position is not None)
    if not count:
        raise Stillborn("no donor for crossover")
    path, node = random_node(target, ctx)
    rng = ctx.rng
    for _ in range(8):
        pick = rng.randrange(count)
        if position is not None and pick >= position:
            pick += 1
        donor = donors[pick]
        _, piece = random_node(donor, ctx)
        if piece.signature == node.signature:
            continue
        if piece.inputs == node.inputs and piece.outputs == node.outputs:
            return finish(target, path, piece, ctx)
        compatible_out = len(piece.outputs) == len(node.outputs) and all(
            is_compatible(s, d) for s, d in zip(piece.outputs, node.outputs, strict=True)
        )
        if compatible_out and path:
            return finish(target, path, piece, ctx)
    raise Stillborn("no interface-compatible donor node found")


def rewire(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Re-draw one or two connections of a composite node at random (compatible types only)."""
    path, node = random_node(target, ctx, composite=True)
    rng = ctx.rng
    gca = _lookup(ctx, node.gca) if node.gca else None
    gcb = _lookup(ctx, node.gcb) if node.gcb else None
    embryo = EmbryonicGC(
        node.graph_type,
        list(node.inputs),
        list(node.outputs),
        gca,
        gcb,
        ancestora=node.signature,
        pgc=ctx.pgc,
        creator=ctx.creator,
    )
    for row, conns in node.graph.dest_conns.items():
        embryo.dest_conns[row] = list(conns)
    endpoints = [(row, idx) for row, conns in node.graph.dest_conns.items() for idx in range(len(conns))]
    changed = False
    for _ in range(rng.randint(1, 2)):
        row, idx = endpoints[rng.randrange(len(endpoints))]
        options = [
            c
            for c in candidates(embryo, row, embryo.dest_types[row][idx], False)
            if c != embryo.dest_conns[row][idx]
        ]
        if options:
            embryo.dest_conns[row][idx] = options[rng.randrange(len(options))]
            changed = True
    if not changed:
        raise Stillborn("no alternative connection to draw")
    return finish(target, path, stabilise(embryo, ctx), ctx)


def delete(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Replace a composite node by one of its sub-GCs (a pass-through of the other), where types allow."""
    path, node = random_node(target, ctx, composite=True)
    children = [_lookup(ctx, s) for s in (node.gca, node.gcb) if s is not None]
    exact = [c for c in children if c.inputs == node.inputs and c.outputs == node.outputs]
    if exact:
        return finish(target, path, _choose(ctx.rng, exact), ctx)
    if not path:
        raise Stillborn("no sub-GC has the root's interface")
    similar = [
        c
        for c in children
        if len(c.outputs) == len(node.outputs)
        and all(is_compatible(s, d) for s, d in zip(c.outputs, node.outputs, strict=True))
    ]
    return finish(target, path, _choose(ctx.rng, similar), ctx)


def point_mutation(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Swap a codon for another codon with the same interface."""
    rng = ctx.rng
    for _ in range(4):
        path, node = random_node(target, ctx)
        if node.codon is None:
            continue
        same = ctx.alike(bool(target.properties & IS_PGC), node)
        if same:
            return finish(target, path, _choose(rng, same), ctx)
    raise Stillborn("no codon with an alternative of the same interface")


def _literal_nodes(
    gc: GeneticCode, ctx: PhysicsContext, path: Path, found: list[tuple[Path, GeneticCode]]
) -> None:
    if gc.codon is not None:
        if gc.properties & LITERAL and gc.outputs[0] in (_FLOAT, _INT, _BOOL):
            found.append((list(path), gc))
        return
    for row, signature in ((ROW_A, gc.gca), (ROW_B, gc.gcb)):
        if signature is not None and len(found) < 64:
            path.append((gc, row))
            _literal_nodes(_lookup(ctx, signature), ctx, path, found)
            path.pop()


def literal_codon(value: float | int | bool, ctx: PhysicsContext) -> GeneticCode:
    """A codon returning the literal `value`, made at run time by the pGC being executed."""
    if isinstance(value, bool):
        type_uid, text = _BOOL, repr(value)
    elif isinstance(value, int):
        type_uid, text = _INT, repr(value)
    else:
        if not math.isfinite(value):
            raise Stillborn("a literal must be finite")
        type_uid, text = _FLOAT, repr(float(value))
    properties = codon_registry().by_name("lit_float_1" if type_uid == _FLOAT else "lit_int_1").properties
    codon = make_codon(f"lit_{text}", text, (), (type_uid,), properties, "runtime literal", pgc=ctx.pgc)
    codon_registry().add_runtime_codon(codon)
    return ctx.keep(codon)


def perturb_literal(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Replace a literal codon with a new literal near it (Gaussian step for floats, ±1 for ints)."""
    found: list[tuple[Path, GeneticCode]] = []
    _literal_nodes(target, ctx, [], found)
    if not found:
        raise Stillborn("no literal to perturb")
    rng = ctx.rng
    path, node = found[rng.randrange(len(found))]
    assert node.codon is not None
    value: Any = eval(node.codon.inline, {"__builtins__": {}})  # a literal codon's own text
    if isinstance(value, bool):
        new: float | int | bool = not value
    elif isinstance(value, int):
        new = value + rng.choice((-1, 1))
    else:
        new = round(float(value) + rng.gauss(0.0, max(0.1, abs(float(value)) * 0.1)), 6)
    return finish(target, path, literal_codon(new, ctx), ctx)
