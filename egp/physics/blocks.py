"""Building-block insertion: mutations that put a GC drawn from the Gene Pool into a program.

A block is a stored GC that proved useful (a sub-GC of good programs of this problem or a related one; the
engine's block library weights the draw by that). `stack_block` puts a block after a node — one of the node's
outputs feeds the block's first input, the block's other inputs come from the node's inputs or outputs — so
parity-(n+1) can be grown as xnor(parity-n(…), xₙ). `inverse_stack_block` puts a block before a node: it
computes one of the node's inputs from the node's inputs. The block library lives in the context
(`PhysicsContext.draw_block`); without one these mutations are stillborn.
"""

from __future__ import annotations

from egp.genetic_code.gc import GeneticCode
from egp.genetic_code.graph import ROW_A, ROW_B, ROW_I, ROW_O, Connection
from egp.genetic_code.properties import IS_PGC
from egp.genetic_code.types import is_compatible
from egp.physics.context import PhysicsContext, Stillborn
from egp.physics.mutations import finish, node_embryo, random_node
from egp.physics.stabilise import stabilise


def _block(ctx: PhysicsContext, target: GeneticCode, output: int, available: tuple[int, ...]) -> GeneticCode:
    """A block for `target`'s kind producing `output` from `available` source types, or Stillborn."""
    if target.properties & IS_PGC:
        raise Stillborn("building blocks are for solutions, not pGCs")
    block = ctx.draw_block(ctx.rng, output, available)
    if block is None:
        raise Stillborn("no building block fits here")
    return block


def stack_block(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Put a building block after a node: one of the node's outputs becomes block(that output, …)."""
    path, node = random_node(target, ctx)
    rng = ctx.rng
    outputs = node.graph.out_types
    inputs = node.graph.inputs
    out_idx = rng.randrange(len(outputs))
    block = _block(ctx, target, outputs[out_idx], (*outputs, *inputs))
    embryo = node_embryo(node, node, block, ctx, node)
    embryo.dest_conns[ROW_A] = [(ROW_I, k) for k in range(len(inputs))]
    b_conns = embryo.dest_conns[ROW_B]
    first = True
    for k, dtype in enumerate(block.inputs):
        if first and is_compatible(outputs[out_idx], dtype):
            b_conns[k] = (ROW_A, out_idx)
            first = False
            continue
        feeds: list[Connection] = [(ROW_I, j) for j, t in enumerate(inputs) if is_compatible(t, dtype)]
        feeds += [(ROW_A, j) for j, t in enumerate(outputs) if is_compatible(t, dtype)]
        b_conns[k] = feeds[rng.randrange(len(feeds))] if feeds else None
    o_conns: list[Connection | None] = [(ROW_A, j) for j in range(len(outputs))]
    o_conns[out_idx] = (ROW_B, 0)
    embryo.dest_conns[ROW_O] = o_conns
    return finish(target, path, stabilise(embryo, ctx), ctx)


def inverse_stack_block(target: GeneticCode, ctx: PhysicsContext) -> GeneticCode:
    """Put a building block before a node: one of the node's inputs becomes block(node inputs)."""
    path, node = random_node(target, ctx)
    inputs = node.graph.inputs
    if not inputs:
        raise Stillborn("node has no inputs to feed")
    rng = ctx.rng
    in_idx = rng.randrange(len(inputs))
    block = _block(ctx, target, inputs[in_idx], tuple(inputs))
    embryo = node_embryo(node, block, node, ctx, node)
    a_conns = embryo.dest_conns[ROW_A]
    used: set[int] = set()
    for k, dtype in enumerate(block.inputs):
        feeds = [j for j, t in enumerate(inputs) if is_compatible(t, dtype)]
        fresh = [j for j in feeds if j not in used] or feeds  # distinct inputs first: a block sees them all
        if fresh:
            chosen = fresh[rng.randrange(len(fresh))]
            used.add(chosen)
            a_conns[k] = (ROW_I, chosen)
    b_conns: list[Connection | None] = [(ROW_I, j) for j in range(len(inputs))]
    b_conns[in_idx] = (ROW_A, 0)
    embryo.dest_conns[ROW_B] = b_conns
    embryo.dest_conns[ROW_O] = [(ROW_B, j) for j in range(len(node.outputs))]
    return finish(target, path, stabilise(embryo, ctx), ctx)
