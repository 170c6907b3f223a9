"""A regular expression for UCUM unit expressions, built from the catalogue's prefixes and atoms."""

from __future__ import annotations

import re
from collections.abc import Iterable


def ucum_regex(prefixes: Iterable[str], atoms: Iterable[str]) -> str:
    """Case-sensitive UCUM syntax: ``/``-led or ``.``/``/``-joined terms of [prefix]atom[exponent],
    integer factors (``10*3``), ``{annotations}`` and one level of parentheses."""
    by_length = lambda values: sorted(set(values), key=len, reverse=True)  # noqa: E731
    prefix = "|".join(re.escape(p) for p in by_length(prefixes))
    atom = "|".join(re.escape(a) for a in by_length(atoms))
    annotation = r"\{[^{}]*\}"
    simple = rf"(?:(?:{prefix})?(?:{atom})(?:[+-]?[0-9]+)?)"
    factor = r"(?:10[*^][+-]?[0-9]+|[0-9]+)"
    component = rf"(?:(?:{simple}|{factor})(?:{annotation})?|{annotation})"
    group = rf"\(/?{component}(?:[./]{component})*\)"  # one level of parentheses: L/(min.m2)
    term = rf"(?:{component}|{group})"
    return rf"^/?{term}(?:[./]{term})*$"
