"""Derived fields: a small arithmetic language over other fields of the same row.

A form states its formula as text ('opening_stock + received - transferred_out'). It is parsed
here, never handed to Excel, so a formula in a definition file can do nothing but arithmetic on
the row's own numbers.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from functools import cache

_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div,
            ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant)


class FormulaError(ValueError):
    """A formula in a form definition uses something other than numbers, fields and + - * /."""


@cache
def parse_formula(text: str) -> ast.Expression:
    """Parse and vet a formula; raise FormulaError naming what is not allowed."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as err:
        raise FormulaError(f"The formula {text!r} is not valid arithmetic: {err.msg}.") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise FormulaError(
                f"The formula {text!r} uses {type(node).__name__}; only field names, numbers "
                "and + - * / are allowed."
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise FormulaError(f"The formula {text!r} contains a non-numeric constant.")
    return tree


def formula_inputs(text: str) -> tuple[str, ...]:
    """The field ids a formula reads, in order of first use."""
    names: list[str] = []
    for node in ast.walk(parse_formula(text)):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return tuple(names)


def evaluate_formula(text: str, values: Mapping[str, object]) -> float | int | None:
    """The formula's value for one row, or None when an input is missing or not a number."""

    def walk(node: ast.AST) -> float | int:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            value = values.get(node.id)
            if value is None or isinstance(value, bool) or not isinstance(value, int | float):
                raise _Missing
            return value
        if isinstance(node, ast.UnaryOp):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if right == 0:
            raise _Missing  # a ratio over zero has no value; the cell stays empty
        return left / right

    try:
        return walk(parse_formula(text))
    except _Missing:
        return None


class _Missing(Exception):
    pass
