"""The portal's standard filtering and paging: parse URL parameters, match records, cut pages."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PAGING_PARAMETERS = frozenset({"pagesize", "page", "continuation_key"})
# Longest prefix first, so that ">=" is not read as ">" followed by "=...".
OPERATORS = ((">=", "ge"), ("<=", "le"), (">", "gt"), ("<", "lt"))


@dataclass(frozen=True)
class Term:
    """One filter: field, operator (eq, prefix, gt, ge, lt, le) and the value to compare with."""

    field: str
    op: str
    value: str

    def matches(self, actual: Any) -> bool:
        if self.op == "eq":
            return actual == self.value or (actual is None and self.value == "")
        if actual is None:
            return False
        text = str(actual)
        if self.op == "prefix":
            return text.startswith(self.value)
        return _COMPARE[self.op](text, self.value)


_COMPARE: dict[str, Callable[[str, str], bool]] = {
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b, "le": lambda a, b: a <= b,
}


def parse_term(field: str, raw: str) -> Term:
    for prefix, op in OPERATORS:
        if raw.startswith(prefix):
            return Term(field, op, raw[len(prefix):])
    if raw.endswith("*"):
        return Term(field, "prefix", raw[:-1])
    return Term(field, "eq", raw)


def parse_terms(args: Mapping[str, str], fields: Sequence[str]) -> list[Term]:
    """Filters for the record's own attributes; anything else is dropped silently, as documented."""
    return [parse_term(name, args.get(name, "")) for name in args
            if name in fields and name not in PAGING_PARAMETERS]


def dropped_parameters(args: Mapping[str, str], fields: Sequence[str]) -> list[str]:
    """Parameters the real API would ignore: neither an attribute nor a paging parameter."""
    return [name for name in args if name not in fields and name not in PAGING_PARAMETERS]


def apply_terms(records: Iterable[Any], terms: Sequence[Term], value: Callable[[Any, str], Any]) -> list[Any]:
    return [r for r in records if all(t.matches(value(r, t.field)) for t in terms)]


@dataclass(frozen=True)
class Page:
    size: int
    number: int  # 1-based

    def cut(self, items: Sequence[Any]) -> Sequence[Any]:
        start = (self.number - 1) * self.size
        return items[start:start + self.size]


# More digits than this saturate: any such page is past the data, any such size is over the maximum.
MAX_PAGING_DIGITS = 18


def _positive_int(raw: str | None) -> int | None:
    """ASCII digits only: str.isdigit() accepts "²" and other digits that int() refuses."""
    text = (raw or "").strip()
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text) if len(text) <= MAX_PAGING_DIGITS else 10 ** MAX_PAGING_DIGITS
    return value if value > 0 else None


def parse_page(args: Mapping[str, str], default_size: int, max_size: int) -> Page:
    """pagesize (default 100, at most max_size) and 1-based page; unusable values fall back."""
    size = _positive_int(args.get("pagesize")) or default_size
    return Page(min(size, max_size), _positive_int(args.get("page")) or 1)
