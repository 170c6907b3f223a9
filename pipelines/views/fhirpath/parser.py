"""FHIRPath tokenizer and precedence-climbing parser producing a small immutable AST."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from fhirmony.views.errors import FhirPathSyntaxError


# ---------------------------------------------------------------- AST
@dataclass(frozen=True)
class Node:
    """Base class of AST nodes."""


@dataclass(frozen=True)
class Literal(Node):
    value: object  # bool, int, Decimal, str, dict (Quantity); None for {}
    kind: str  # boolean | integer | decimal | string | date | dateTime | time | Quantity | empty


@dataclass(frozen=True)
class Identifier(Node):
    name: str


@dataclass(frozen=True)
class Variable(Node):
    name: str  # without the leading %


@dataclass(frozen=True)
class Special(Node):
    name: str  # $this | $index | $total


@dataclass(frozen=True)
class Member(Node):
    target: Node
    name: str


@dataclass(frozen=True)
class Call(Node):
    target: Node | None  # None: called on the focus ($this)
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Index(Node):
    target: Node
    index: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class TypeOp(Node):
    op: str  # is | as
    operand: Node
    type_name: str


# ---------------------------------------------------------------- tokens
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<datetime>@\d{4}(?:-\d{2}(?:-\d{2})?)?(?:T(?:\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)?)?
        (?:Z|[+-]\d{2}:\d{2})?)
  | (?P<time>@T\d{2}(?::\d{2}(?::\d{2}(?:\.\d+)?)?)?)
  | (?P<number>\d+(?:\.\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<delimited>`(?:[^`\\]|\\.)*`)
  | (?P<env>%(?:[A-Za-z_][A-Za-z0-9_]*|`(?:[^`\\]|\\.)*`|'(?:[^'\\]|\\.)*'))
  | (?P<special>\$(?:this|index|total))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|!~|[-+*/&|=~<>()\[\],.{}])
    """,
    re.VERBOSE | re.DOTALL,
)

_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_KEYWORD_OPS = {"and", "or", "xor", "implies", "in", "contains", "is", "as", "div", "mod"}
_CALENDAR_UNITS = {
    "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours",
    "minute", "minutes", "second", "seconds", "millisecond", "milliseconds",
}  # fmt: skip


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int


def _unescape(body: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 6 <= len(body):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; raises FhirPathSyntaxError on an unknown character."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise FhirPathSyntaxError(f"unexpected character {text[pos]!r} at position {pos} in {text!r}")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


# ---------------------------------------------------------------- parser
_BINARY_LEVELS: list[set[str]] = [
    {"implies"},
    {"or", "xor"},
    {"and"},
    {"in", "contains"},
    {"=", "~", "!=", "!~"},
    {"<", "<=", ">", ">="},
    {"|"},
    {"is", "as"},
    {"+", "-", "&"},
    {"*", "/", "div", "mod"},
]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def fail(self, message: str) -> FhirPathSyntaxError:
        token = self.peek()
        where = f"at position {token.pos}" if token.kind != "eof" else "at end"
        return FhirPathSyntaxError(f"{message} {where} in {self.text!r}")

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text or token.kind in {"string", "delimited"}:
            self.i -= 1
            raise self.fail(f"expected {text!r}")

    def is_op(self, text: str) -> bool:
        token = self.peek()
        return token.text == text and token.kind in {"op", "ident"}

    def parse(self) -> Node:
        node = self.expression(0)
        if self.peek().kind != "eof":
            raise self.fail(f"unexpected {self.peek().text!r}")
        return node

    def expression(self, level: int) -> Node:
        if level == len(_BINARY_LEVELS):
            return self.unary()
        left = self.expression(level + 1)
        ops = _BINARY_LEVELS[level]
        while True:
            token = self.peek()
            is_keyword = token.kind == "ident" and token.text in _KEYWORD_OPS
            if token.text not in ops or not (token.kind == "op" or is_keyword):
                return left
            self.take()
            if token.text in {"is", "as"}:
                left = TypeOp(token.text, left, self.type_specifier())
            else:
                left = Binary(token.text, left, self.expression(level + 1))

    def type_specifier(self) -> str:
        parts = [self.identifier_text()]
        while self.is_op(".") and self.tokens[self.i + 1].kind in {"ident", "delimited"}:
            self.take()
            parts.append(self.identifier_text())
        return ".".join(parts)

    def identifier_text(self) -> str:
        token = self.take()
        if token.kind == "ident":
            return token.text
        if token.kind == "delimited":
            return _unescape(token.text[1:-1])
        self.i -= 1
        raise self.fail("expected an identifier")

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text in {"+", "-"}:
            self.take()
            operand = self.unary()
            if token.text == "-" and isinstance(operand, Literal) and operand.kind in {"integer", "decimal"}:
                return Literal(-operand.value, operand.kind)  # type: ignore[operator]
            return Unary(token.text, operand)
        return self.postfix(self.term())

    def postfix(self, node: Node) -> Node:
        while True:
            if self.is_op("."):
                self.take()
                name = self.identifier_text()
                node = Call(node, name, self.arguments()) if self.is_op("(") else Member(node, name)
            elif self.is_op("["):
                self.take()
                index = self.expression(0)
                self.expect("]")
                node = Index(node, index)
            else:
                return node

    def arguments(self) -> tuple[Node, ...]:
        self.expect("(")
        args: list[Node] = []
        if self.is_op(")"):
            self.take()
            return ()
        while True:
            args.append(self.expression(0))
            if self.is_op(","):
                self.take()
                continue
            self.expect(")")
            return tuple(args)

    def term(self) -> Node:
        token = self.take()
        kind, text = token.kind, token.text
        if kind == "number":
            return self.number(text)
        if kind == "string":
            return Literal(_unescape(text[1:-1]), "string")
        if kind == "datetime":
            body = text[1:]
            if "T" in body:
                return Literal(body, "dateTime")
            return Literal(body, "date")
        if kind == "time":
            return Literal(text[2:], "time")
        if kind == "env":
            body = text[1:]
            if body[0] in "`'":
                body = _unescape(body[1:-1])
            return Variable(body)
        if kind == "special":
            return Special(text)
        if kind == "delimited":
            name = _unescape(text[1:-1])
            return Call(None, name, self.arguments()) if self.is_op("(") else Identifier(name)
        if kind == "ident":
            if text in {"true", "false"}:
                return Literal(text == "true", "boolean")
            if self.is_op("("):
                return Call(None, text, self.arguments())
            return Identifier(text)
        if kind == "op" and text == "(":
            inner = self.expression(0)
            self.expect(")")
            return inner
        if kind == "op" and text == "{":
            self.expect("}")
            return Literal(None, "empty")
        self.i -= 1
        raise self.fail(f"unexpected {text!r}" if text else "unexpected end of expression")

    def number(self, text: str) -> Node:
        value: int | Decimal = Decimal(text) if "." in text else int(text)
        nxt = self.peek()
        if nxt.kind == "string" or (nxt.kind == "ident" and nxt.text in _CALENDAR_UNITS):
            self.take()
            unit = _unescape(nxt.text[1:-1]) if nxt.kind == "string" else nxt.text
            quantity = {"value": value, "unit": unit, "code": unit, "system": "http://unitsofmeasure.org"}
            return Literal(quantity, "Quantity")
        return Literal(value, "decimal" if "." in text else "integer")


def parse(text: str) -> Node:
    """Parse one FHIRPath expression; raises FhirPathSyntaxError naming the position."""
    if not isinstance(text, str) or not text.strip():
        raise FhirPathSyntaxError("empty FHIRPath expression")
    return _Parser(text).parse()
