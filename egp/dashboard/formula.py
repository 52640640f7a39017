"""A program's Python source as one formula per output: its straight-line assignments substituted into the
expressions they feed, so `t0 = i0 * i0; t1 = i0 + t0; return t1` reads `i0 + i0 * i0`.

Sub-expressions that a program shares are repeated by the substitution, so a formula can grow exponentially
with the program's depth: past MAX_NODES syntax nodes there is no formula (None), and the source is the
program's text.
"""

from __future__ import annotations

import ast
import copy

# Past this many syntax nodes a formula stops being readable (and its size can explode): none is shown.
MAX_NODES = 600


class _Inline(ast.NodeTransformer):
    """Replaces each name bound by an earlier assignment with (a copy of) its expression."""

    def __init__(self, bound: dict[str, ast.expr]) -> None:
        self.bound = bound

    def visit_Name(self, node: ast.Name) -> ast.AST:
        """The bound expression for a read of an assigned name, else the name."""
        if isinstance(node.ctx, ast.Load) and node.id in self.bound:
            return copy.deepcopy(self.bound[node.id])
        return node


def _size(node: ast.AST) -> int:
    """The number of syntax nodes under `node`."""
    return sum(1 for _ in ast.walk(node))


def formula(source: str) -> list[str] | None:
    """The program's outputs as formulas of its inputs (`name(i0, …) = expression`), or None when the
    source is not one straight-line function or a formula would exceed MAX_NODES nodes."""
    try:
        module = ast.parse(source)
    except SyntaxError:
        return None
    functions = [node for node in module.body if isinstance(node, ast.FunctionDef)]
    if len(functions) != 1:
        return None
    function = functions[0]
    bound: dict[str, ast.expr] = {}
    outputs: list[ast.expr] = []
    for statement in function.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring
        if (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            value = _Inline(bound).visit(statement.value)
            if _size(value) > MAX_NODES:
                return None
            bound[statement.targets[0].id] = value
        elif isinstance(statement, ast.Return) and statement.value is not None:
            value = _Inline(bound).visit(statement.value)
            outputs = list(value.elts) if isinstance(value, ast.Tuple) else [value]
        else:
            return None
    if not outputs or sum(_size(o) for o in outputs) > MAX_NODES:
        return None
    arguments = ", ".join(a.arg for a in function.args.args)
    names = ["f"] if len(outputs) == 1 else [f"f{index}" for index in range(len(outputs))]
    return [f"{name}({arguments}) = {ast.unparse(o)}" for name, o in zip(names, outputs, strict=True)]
