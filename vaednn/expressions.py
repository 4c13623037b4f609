"""Branch and cut expressions: checked against an allow-list, then evaluated by the package.

A sample map is shared between people, so reading one must never run code. Every branch
expression (``"met/1000"``, ``"Jet_pt[:, 0]"``, a :class:`vaednn.data.derived` recipe) and
every cut string is parsed with :mod:`ast` and accepted only if it is made of:

* names (of branches, or of features for cuts) that do not start with ``_``;
* numbers (``True``/``False`` too);
* arithmetic ``+ - * / // % **``, comparisons ``< <= > >= == !=``, the element-wise
  logic ``& | ~`` and ``and or not``;
* indexing and slicing with numbers, on the list axis only (``Jet_pt[:, 0]``; an index
  on the first, event, axis would give every event the value of one);
* calls of the functions in :data:`FUNCTIONS` (numpy's, applied element-wise to awkward
  arrays as well), positional arguments only.

Anything else (attribute access, ``__``, ``lambda``, strings, other calls, comprehensions)
is refused with an :class:`ExpressionError` naming the expression, before any data is read.
The checked tree is then evaluated here, on the arrays of the names it uses, so no
expression ever reaches ``eval`` or a reader's own expression language.

>>> parse("sqrt(met) / 1000").names
frozenset({'met'})
>>> parse("met.pt")
Traceback (most recent call last):
...
vaednn.expressions.ExpressionError: 'met.pt': attribute access ('.pt') is not allowed in an expression
"""

from __future__ import annotations

import ast
import dataclasses
import operator

import numpy as np

__all__ = ["FUNCTIONS", "Expression", "ExpressionError", "parse", "evaluate"]


class ExpressionError(ValueError):
    """An expression outside the allowed language; the message names it and the reason."""


#: The functions an expression may call: the element-wise maths the derived variables need.
FUNCTIONS = {
    name: getattr(np, name) for name in (
        "abs", "sqrt", "exp", "log", "log10", "log1p", "expm1",
        "sin", "cos", "tan", "arcsin", "arccos", "arctan", "arctan2",
        "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
        "hypot", "minimum", "maximum", "where", "sign",
    )
}

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
           ast.Pow: operator.pow, ast.BitAnd: operator.and_, ast.BitOr: operator.or_}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
          ast.Not: np.logical_not}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}
_BOOL = {ast.And: np.logical_and, ast.Or: np.logical_or}
_WHAT = {ast.Attribute: "attribute access", ast.Lambda: "lambda",
         ast.ListComp: "a comprehension", ast.GeneratorExp: "a comprehension",
         ast.DictComp: "a comprehension", ast.SetComp: "a comprehension",
         ast.NamedExpr: "assignment", ast.JoinedStr: "a string", ast.IfExp: "if/else",
         ast.Starred: "unpacking", ast.Dict: "a dict", ast.List: "a list", ast.Set: "a set"}


@dataclasses.dataclass(frozen=True)
class Expression:
    """A checked expression: its text, its syntax tree and the names it reads."""

    text: str
    tree: ast.Expression
    names: frozenset

    @property
    def is_name(self) -> bool:
        """True when the expression is a bare name (one branch read as it is)."""
        return isinstance(self.tree.body, ast.Name)


def _refuse(text: str, why: str):
    raise ExpressionError(f"{text!r}: {why} is not allowed in an expression")


def _check(node: ast.AST, text: str, names: set) -> None:
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            _refuse(text, f"a name starting with '_' ({node.id!r})")
        if node.id in FUNCTIONS:
            _refuse(text, f"the function {node.id!r} used as a value")
        names.add(node.id)
        return
    if isinstance(node, ast.Constant):
        if type(node.value) not in (int, float, bool):
            _refuse(text, f"the constant {node.value!r}")
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            called = ast.unparse(node.func)
            raise ExpressionError(
                f"{text!r}: calling {called!r} is not allowed in an expression; "
                f"the functions allowed are {sorted(FUNCTIONS)}")
        if node.keywords:
            _refuse(text, "a keyword argument")
        for argument in node.args:
            _check(argument, text, names)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        _check(node.left, text, names)
        _check(node.right, text, names)
        return
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        _check(node.operand, text, names)
        return
    if isinstance(node, ast.BoolOp) and type(node.op) in _BOOL:
        for value in node.values:
            _check(value, text, names)
        return
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        for value in (node.left, *node.comparators):
            _check(value, text, names)
        return
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Constant):
            _refuse(text, f"indexing the number {ast.unparse(node.value)} "
                          f"(to index an expression, put it in brackets: '(...)[:, 0]')")
        _check(node.value, text, names)
        _check_index(node.slice, text)
        first = node.slice.elts[0] if isinstance(node.slice, ast.Tuple) else node.slice
        if not (isinstance(first, ast.Slice) and first.lower is first.upper is first.step
                is None):
            # The first axis is the events: an index there picks some events for all of
            # them (a flat branch's met[0] broadcasts event 0's MET to every event).
            value = ast.unparse(node.value)
            _refuse(text, f"the index [{_index_text(node.slice)}] on the event axis "
                          f"(to pick an element of each event's list, index the list "
                          f"axis: '{value}[:, 0]')")
        return
    if isinstance(node, ast.Attribute):
        _refuse(text, f"attribute access ('.{node.attr}')")
    what = _WHAT.get(type(node)) or f"the syntax {type(node).__name__}"
    if isinstance(node, ast.BinOp | ast.UnaryOp | ast.BoolOp):
        what = f"the operator {type(node.op).__name__}"
    elif isinstance(node, ast.Compare):
        what = f"the comparison {' '.join(type(op).__name__ for op in node.ops)}"
    _refuse(text, what)


def _check_index(node: ast.AST, text: str) -> None:
    """Indices are integers, slices of integers, or tuples of those: ``[:, 0]``, ``[1:3]``."""
    if isinstance(node, ast.Tuple):
        for element in node.elts:
            _check_index(element, text)
    elif isinstance(node, ast.Slice):
        for part in (node.lower, node.upper, node.step):
            if part is not None:
                _check_index(part, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        _check_index(node.operand, text)
    elif not (isinstance(node, ast.Constant) and type(node.value) is int):
        _refuse(text, f"the index {ast.unparse(node)!r} (indices are integers and slices)")


def parse(text) -> Expression:
    """Parse and check one expression; raise :class:`ExpressionError` if it is not allowed."""
    if not isinstance(text, str):
        raise ExpressionError(f"an expression is a string, got {text!r}")
    if "__" in text:
        _refuse(text, "'__'")
    try:
        tree = ast.parse(text.strip(), mode="eval")
        names: set = set()
        _check(tree.body, text, names)
        _check_constants(tree.body, text)
    except SyntaxError as error:
        raise ExpressionError(f"{text!r}: not a valid expression ({error.msg})") from None
    except (RecursionError, MemoryError):
        shown = text if len(text) <= 60 else f"{text[:60]}..."
        raise ExpressionError(f"{shown!r}: an expression nested this deeply is not allowed "
                              f"({len(text)} characters)") from None
    return Expression(text, tree, frozenset(names))


def _check_constants(node: ast.AST, text: str) -> None:
    """Fold every part made of numbers alone, in float64, and refuse one that overflows.

    Evaluated with Python integers, ``9**9**9`` would take hours; in float64 it is
    infinite at once, and a part that is infinite or NaN before any data is read can
    only be a mistake.
    """
    if isinstance(node, ast.Name):
        return
    functions = {id(child.func) for child in ast.walk(node) if isinstance(child, ast.Call)}
    if not any(isinstance(child, ast.Name) and id(child) not in functions
               for child in ast.walk(node)) and not isinstance(node, ast.Constant):
        with np.errstate(all="raise"):
            try:
                value = _evaluate(node, {})
                finite = bool(np.all(np.isfinite(value)))
            except (FloatingPointError, ZeroDivisionError, OverflowError, ValueError):
                finite = False
        if not finite:
            _refuse(text, f"the constant part {ast.unparse(node)!r}, which overflows or "
                          f"is not a number,")
        return
    if isinstance(node, ast.Subscript):  # the index was checked: integers and slices
        _check_constants(node.value, text)
        return
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            _check_constants(child, text)


def _index_text(node: ast.AST) -> str:
    """An index as written between the brackets (``ast.unparse`` puts a tuple in parentheses)."""
    if isinstance(node, ast.Tuple):
        return ", ".join(ast.unparse(element) for element in node.elts)
    return ast.unparse(node)


def _index(node: ast.AST):
    if isinstance(node, ast.Tuple):
        return tuple(_index(element) for element in node.elts)
    if isinstance(node, ast.Slice):
        return slice(*(None if part is None else _index(part)
                       for part in (node.lower, node.upper, node.step)))
    if isinstance(node, ast.UnaryOp):
        return -_index(node.operand)
    return node.value


def _evaluate(node: ast.AST, arrays):
    if isinstance(node, ast.Name):
        return arrays[node.id]
    if isinstance(node, ast.Constant):
        # Integers in float64: Python's unbounded ones make 9**9**9 a hang.
        return node.value if type(node.value) is bool else np.float64(node.value)
    if isinstance(node, ast.Call):
        return FUNCTIONS[node.func.id](*(_evaluate(a, arrays) for a in node.args))
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_evaluate(node.left, arrays), _evaluate(node.right, arrays))
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, arrays))
    if isinstance(node, ast.BoolOp):
        result = _evaluate(node.values[0], arrays)
        for value in node.values[1:]:
            result = _BOOL[type(node.op)](result, _evaluate(value, arrays))
        return result
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, arrays)
        result = None
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, arrays)
            step = _COMPARE[type(op)](left, right)
            result = step if result is None else np.logical_and(result, step)
            left = right
        return result
    value = _evaluate(node.value, arrays)
    if getattr(value, "ndim", 0) < 2:
        raise ExpressionError(f"{ast.unparse(node.value)!r} is one value per event, not a "
                              f"list, so it cannot be indexed with [{_index_text(node.slice)}]")
    return value[_index(node.slice)]


def evaluate(expression: Expression, arrays):
    """The value of a checked ``expression`` given ``arrays[name]`` for each of its names."""
    return _evaluate(expression.tree.body, arrays)
