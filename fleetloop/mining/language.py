"""The mining language: a recursive-descent parser from query text to a small syntax tree.

    query    := sequence [ 'where' filter { 'and' filter } ]
    sequence := lasting { 'then' lasting 'within' DURATION }      A then B within 3s
    lasting  := disjunct [ 'for' 'at' 'least' DURATION ]          A for at least 5s
    disjunct := conjunct { 'or' conjunct }
    conjunct := unary { 'and' unary }
    unary    := 'not' unary | TAG | '(' sequence ')'
    filter   := FIELD '=' VALUE | FIELD 'in' '(' VALUE { ',' VALUE } ')' | 'days' DATE [ 'to' DATE ]
    FIELD    := site | route | version | vehicle_class          DURATION := 3s | 3 s

Meaning per second of one vehicle (``fleetloop.mining.reference`` is the plain-loop definition): ``A then B
within Ns`` holds where B holds and A held in one of the N seconds before; ``A for at least Ns`` holds on every
second of a run of at least N consecutive seconds where A holds. Filters restrict the seconds looked at."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from fleetloop.mining.tags import KEYWORDS

# filter field of the language -> column of the tag store
FILTER_FIELDS = {"site": "site_id", "route": "route_id", "version": "version", "vehicle_class": "vehicle_class"}
CLOSE_NAMES = 5  # suggestions listed for an unknown tag
_TOKEN = re.compile(r"\s*(?:(?P<punct>[(),=])|'(?P<quoted>[^']*)'|(?P<word>[A-Za-z0-9_][A-Za-z0-9_.:\-]*))")
_DURATION = re.compile(r"(\d+)s?")


class MiningQueryError(ValueError):
    """A query that does not parse, with the place it fails at."""

    def __init__(self, message: str, text: str, position: int):
        super().__init__(f"{message}\n  {text}\n  {' ' * position}^")
        self.position = position


@dataclass(frozen=True)
class TagRef:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Then:
    first: Expr
    second: Expr
    within_s: int


@dataclass(frozen=True)
class ForAtLeast:
    operand: Expr
    min_s: int


Expr = TagRef | Not | And | Or | Then | ForAtLeast


@dataclass(frozen=True)
class Filters:
    """Allowed values per store column (empty: any) and the UTC days looked at (inclusive; None: open)."""

    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    first_day: dt.date | None = None
    last_day: dt.date | None = None


@dataclass(frozen=True)
class Query:
    expr: Expr
    filters: Filters


@dataclass(frozen=True)
class _Token:
    kind: str  # 'punct', 'quoted', 'word' or 'end'
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    tokens, pos = [], 0
    while text[pos:].strip():
        m = _TOKEN.match(text, pos)
        if not m:
            start = len(text) - len(text[pos:].lstrip())
            raise MiningQueryError(f"unexpected character {text[start]!r}", text, start)
        kind = m.lastgroup
        tokens.append(_Token(kind, m.group(kind), m.start(kind) - (kind == "quoted")))
        pos = m.end()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, tags: Collection[str]):
        self.text, self.tags, self.tokens, self.i = text, tags, _tokens(text), 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def fail(self, message: str, token: _Token | None = None):
        raise MiningQueryError(message, self.text, (token or self.token).position)

    def at(self, *keywords: str) -> bool:
        t = self.token
        return (t.kind == "word" and t.text.lower() in keywords) or (t.kind == "punct" and t.text in keywords)

    def expect(self, keyword: str) -> None:
        if not self.at(keyword):
            self.fail(f"expected {keyword!r}, found {self.token.text or 'the end'!r}")
        self.i += 1

    def value(self) -> str:
        t = self.token
        if t.kind not in ("word", "quoted"):
            self.fail(f"expected a value, found {t.text or 'the end'!r}")
        self.i += 1
        return t.text

    def duration(self) -> int:
        t = self.token
        m = _DURATION.fullmatch(t.text) if t.kind == "word" else None
        if not m or int(m.group(1)) < 1:
            self.fail(f"expected a duration in whole seconds such as 3s, found {t.text or 'the end'!r}")
        self.i += 1
        if not t.text.endswith("s"):
            self.expect("s")
        return int(m.group(1))

    def query(self) -> Query:
        expr = self.sequence()
        filters = Filters()
        if self.at("where"):
            self.i += 1
            filters = self.filter(filters)
            while self.at("and"):
                self.i += 1
                filters = self.filter(filters)
        if self.token.kind != "end":
            self.fail(f"unexpected {self.token.text!r}")
        return Query(expr, filters)

    def sequence(self) -> Expr:
        expr = self.lasting()
        while self.at("then"):
            self.i += 1
            second = self.lasting()
            self.expect("within")
            expr = Then(expr, second, self.duration())
        return expr

    def lasting(self) -> Expr:
        expr = self.disjunct()
        if self.at("for"):
            self.i += 1
            self.expect("at")
            self.expect("least")
            expr = ForAtLeast(expr, self.duration())
        return expr

    def disjunct(self) -> Expr:
        operands = [self.conjunct()]
        while self.at("or"):
            self.i += 1
            operands.append(self.conjunct())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunct(self) -> Expr:
        operands = [self.unary()]
        while self.at("and"):
            self.i += 1
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Expr:
        t = self.token
        if self.at("not"):
            self.i += 1
            return Not(self.unary())
        if self.at("("):
            self.i += 1
            expr = self.sequence()
            self.expect(")")
            return expr
        if t.kind != "word" or t.text.lower() in KEYWORDS:
            self.fail(f"expected a tag, 'not' or '(', found {t.text or 'the end'!r}")
        if t.text not in self.tags:
            close = difflib.get_close_matches(t.text, self.tags, n=CLOSE_NAMES, cutoff=0.5)
            close += [n for n in sorted(self.tags) if t.text in n and n not in close][:CLOSE_NAMES - len(close)]
            hint = f"; close names: {', '.join(close)}" if close else ""
            self.fail(f"unknown tag {t.text!r}{hint}")
        self.i += 1
        return TagRef(t.text)

    def filter(self, filters: Filters) -> Filters:
        t = self.token
        if self.at("days"):
            self.i += 1
            first = self.day()
            last = first
            if self.at("to"):
                self.i += 1
                last = self.day()
            if last < first:
                self.fail(f"the last day {last} is before the first {first}", t)
            return Filters(filters.values, first, last)
        name = t.text.lower() if t.kind == "word" else ""
        if name not in FILTER_FIELDS:
            self.fail(f"expected a filter ({', '.join(FILTER_FIELDS)}, days), found {t.text or 'the end'!r}")
        self.i += 1
        if self.at("="):
            self.i += 1
            allowed = (self.value(),)
        else:
            self.expect("in")
            self.expect("(")
            allowed = [self.value()]
            while self.at(","):
                self.i += 1
                allowed.append(self.value())
            self.expect(")")
        column = FILTER_FIELDS[name]
        if column in filters.values:
            self.fail(f"{name} is filtered twice", t)
        return Filters(filters.values | {column: tuple(allowed)}, filters.first_day, filters.last_day)

    def day(self) -> dt.date:
        t = self.token
        try:
            day = dt.date.fromisoformat(t.text)
        except ValueError:
            self.fail(f"expected a day YYYY-MM-DD, found {t.text or 'the end'!r}")
        self.i += 1
        return day


def parse(text: str, tags: Collection[str]) -> Query:
    """Parse ``text`` against the known tag names; ``MiningQueryError`` says where and why it fails."""
    return _Parser(text, tags).query()
