"""A migration file as ``libcst`` reads it, and the few rewrites every fixer needs.

Every rewrite replaces one node of the concrete syntax tree and renders the whole module
again; the edit is what changed between the two texts (:func:`b03lint.fixes.edit_between`),
so what the fix does not touch, comments and formatting included, stays as it was.
"""

from __future__ import annotations

from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from b03lint.fixes.model import TextEdit, _offsets, edit_between

_line_starts = _offsets

AUTOCOMMIT = "op.get_context().autocommit_block()"


class Source:
    """One file's text and tree, with the positions of its nodes (computed when first
    asked for) and the blocks around each statement."""

    def __init__(self, text: str):
        self.text = text
        self.module = cst.parse_module(text)
        self._wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        self._positions: Any = None
        self._statements: list[cst.SimpleStatementLine] | None = None
        #: statement -> the compound statements and blocks around it, outermost first
        self._around: dict[cst.CSTNode, tuple[cst.CSTNode, ...]] = {}
        self._by_line: dict[int, cst.SimpleStatementLine] | None = None
        self.memo: dict[str, Any] = {}

    @property
    def positions(self) -> Any:
        if self._positions is None:
            self._positions = self._wrapper.resolve(PositionProvider)
        return self._positions

    # ---------------------------------------------------------------- finding nodes

    def range(self, node: cst.CSTNode) -> CodeRange:
        r: CodeRange = self.positions[node]
        return r

    def statements(self) -> list[cst.SimpleStatementLine]:
        """Every statement line, found by walking the statements and blocks only (not the
        expressions in them)."""
        if self._statements is None:
            found: list[cst.SimpleStatementLine] = []
            around = self._around
            stack: list[cst.CSTNode] = []

            class _Walk(cst.CSTVisitor):
                def on_visit(self, node: cst.CSTNode) -> bool:
                    if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                        around[node] = tuple(stack)
                    if isinstance(node, cst.SimpleStatementLine):
                        found.append(node)
                        return False
                    if isinstance(node, (cst.Module, cst.BaseCompoundStatement, cst.BaseSuite,
                                         cst.Else, cst.Finally, cst.ExceptHandler,
                                         cst.ExceptStarHandler, cst.MatchCase)):
                        stack.append(node)
                        return True
                    return False

                def on_leave(self, original_node: cst.CSTNode) -> None:
                    if stack and stack[-1] is original_node:
                        stack.pop()

            self.module.visit(_Walk())
            self._statements = found
        return self._statements

    def statement_at(self, line: int) -> cst.SimpleStatementLine | None:
        """The statement line whose code covers ``line``."""
        if self._by_line is None:
            self._by_line = {}
            for stmt in self.statements():
                r = self.range(stmt)
                for n in range(r.start.line, r.end.line + 1):
                    self._by_line[n] = stmt
        return self._by_line.get(line)

    def ancestors(self, stmt: cst.CSTNode) -> list[cst.CSTNode]:
        """The compound statements and blocks around a statement, innermost first."""
        self.statements()
        return list(reversed(self._around.get(stmt, ())))

    def in_autocommit(self, stmt: cst.CSTNode) -> bool:
        return any(isinstance(a, cst.With) and any(is_autocommit(i.item) for i in a.items)
                   for a in self.ancestors(stmt))

    def function_of(self, stmt: cst.CSTNode) -> str | None:
        for a in self.ancestors(stmt):
            if isinstance(a, cst.FunctionDef):
                return a.name.value
        return None

    def indentation(self, stmt: cst.CSTNode) -> list[str]:
        """The indentation of each block around a statement, outermost first."""
        return [b.indent if b.indent is not None else self.module.default_indent
                for b in reversed(self.ancestors(stmt)) if isinstance(b, cst.IndentedBlock)]

    # ---------------------------------------------------------------- rewriting

    def code(self, node: cst.CSTNode) -> str:
        return self.module.code_for_node(node)

    def replace(self, old: cst.SimpleStatementLine, new: cst.BaseStatement) -> TextEdit | None:
        """The edit that replaces the statement line ``old`` (with the comment lines above
        it and its newline) by ``new``, rendered at the indentation of ``old``'s blocks:
        only ``old``'s lines are rewritten."""
        try:
            from libcst._nodes.internal import CodegenState
        except ImportError:  # pragma: no cover - another libcst: render the whole module
            changed = self.module.deep_replace(old, new)
            assert isinstance(changed, cst.Module)
            return edit_between(self.text, changed.code)
        r = self.range(old)
        state = CodegenState(default_indent=self.module.default_indent,
                             default_newline=self.module.default_newline)
        state.indent_tokens = self.indentation(old)
        new._codegen(state)
        starts = _line_starts(self.text)
        a = starts[r.start.line - 1 - len(old.leading_lines)]
        b = starts[r.end.line] if r.end.line < len(starts) else len(self.text)
        return edit_between(self.text, self.text[:a] + "".join(state.tokens) + self.text[b:])

    def replace_in(self, stmt: cst.SimpleStatementLine, old: cst.CSTNode,
                   new: cst.CSTNode) -> TextEdit | None:
        """The edit that replaces ``old``, a node inside the statement line ``stmt``."""
        changed = stmt.deep_replace(old, new)
        assert isinstance(changed, cst.SimpleStatementLine)
        return self.replace(stmt, changed)


# -------------------------------------------------------------------- node helpers


def is_autocommit(expr: cst.BaseExpression) -> bool:
    """``op.get_context().autocommit_block()``."""
    if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
        return False
    if expr.func.attr.value != "autocommit_block":
        return False
    inner = expr.func.value
    return (isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute)
            and inner.func.attr.value == "get_context"
            and isinstance(inner.func.value, cst.Name) and inner.func.value.value == "op")


def op_call(stmt: cst.SimpleStatementLine | None) -> tuple[cst.Call, str] | None:
    """The ``op.<name>(...)`` call that is the whole statement line, and ``name``."""
    if stmt is None or len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
        return None
    call = stmt.body[0].value
    if not isinstance(call, cst.Call) or not isinstance(call.func, cst.Attribute):
        return None
    owner = call.func.value
    if not isinstance(owner, cst.Name) or owner.value != "op":
        return None
    return call, call.func.attr.value


def keyword(call: cst.Call, name: str) -> cst.Arg | None:
    return next((a for a in call.args if a.keyword is not None and a.keyword.value == name),
                None)


def is_true(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"


def with_keyword(call: cst.Call, name: str, value: str = "True", *,
                 source: Source | None = None, width: int = 0, deeper: int = 0) -> cst.Call:
    """``call`` with ``name=value``: an existing ``name=`` gets the value, else the
    keyword is added after the last argument, in the layout the call already has (one
    argument a line with a trailing comma, or on the last argument's line). When that
    line would grow past ``width`` (with ``deeper`` more columns of indentation to come),
    the keyword goes on a line of its own, under the first argument."""
    expr = cst.parse_expression(value)
    existing = keyword(call, name)
    if existing is not None:
        return call.with_deep_changes(existing, value=expr)
    args = list(call.args)
    new = cst.Arg(keyword=cst.Name(name), value=expr,
                  equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                        whitespace_after=cst.SimpleWhitespace("")))
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # a trailing comma: the new argument takes it (and what follows it, up to the
        # parenthesis); the old last argument is separated as the others are
        if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
            between: cst.BaseParenthesizableWhitespace = args[-2].comma.whitespace_after
        else:
            between = call.whitespace_before_args
            if isinstance(between, cst.SimpleWhitespace) or not _has_newline(between):
                between = cst.SimpleWhitespace(" ")
        args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=between))
        args.append(new.with_changes(comma=last.comma))
        return call.with_changes(args=args)
    # the new argument takes what followed the last one (up to the parenthesis, which
    # may be on a line of its own)
    args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
                                 whitespace_after_arg=cst.SimpleWhitespace(""))
    args.append(new.with_changes(whitespace_after_arg=last.whitespace_after_arg))
    changed = call.with_changes(args=args)
    if source is None or not width or _new_line_end(source, last, name, value) + deeper \
            <= width:
        return changed
    column = source.range(call.args[0]).start.column
    wrap = cst.ParenthesizedWhitespace(
        first_line=cst.TrailingWhitespace(), empty_lines=[], indent=False,
        last_line=cst.SimpleWhitespace(" " * column))
    args[-2] = args[-2].with_changes(comma=cst.Comma(whitespace_after=wrap))
    return call.with_changes(args=args)


def _new_line_end(source: Source, last: cst.Arg, name: str, value: str) -> int:
    """Where the line of the last argument ends once ``, name=value`` follows it (with
    what follows the argument on its line: the parenthesis, a comment)."""
    r = source.range(last)
    line_text = source.text.split("\n")[r.end.line - 1].rstrip()
    return len(line_text) + len(f", {name}={value}")


def _has_newline(ws: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(ws, cst.ParenthesizedWhitespace)


class _Deeper(cst.CSTTransformer):
    """Continuation lines one indentation deeper: those libcst keeps relative to the block
    follow it by themselves, the others (less indented than the block) are given it;
    strings are tokens and keep their text."""

    def __init__(self, by: str):
        super().__init__()
        self.by = by

    def leave_ParenthesizedWhitespace(self, original: cst.ParenthesizedWhitespace,
                                      updated: cst.ParenthesizedWhitespace
                                      ) -> cst.ParenthesizedWhitespace:
        if updated.indent:
            return updated
        return updated.with_changes(
            last_line=cst.SimpleWhitespace(self.by + updated.last_line.value))


def in_autocommit_block(source: Source, stmt: cst.SimpleStatementLine,
                        replacement: cst.SimpleStatementLine | None = None) -> cst.With:
    """``with op.get_context().autocommit_block():`` around ``stmt`` (or the
    ``replacement`` of it); the comment lines above the statement stay above the block."""
    inner = replacement if replacement is not None else stmt
    indent = source.module.default_indent
    moved = inner.with_changes(leading_lines=[])
    deeper = moved.visit(_Deeper(indent))
    assert isinstance(deeper, cst.SimpleStatementLine)
    return cst.With(
        items=[cst.WithItem(item=cst.parse_expression(AUTOCOMMIT))],
        body=cst.IndentedBlock(body=[deeper]),
        leading_lines=stmt.leading_lines,
    )
