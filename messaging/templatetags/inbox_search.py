"""Showing where a search matched: a short excerpt of the message around the first match, terms marked."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape, format_html, format_html_join

register = template.Library()

BEFORE = 20  # characters of context kept before the first match


@register.filter
def search_excerpt(text: str, terms, width: int = 80) -> str:
    """`text` cut to `width` characters around the first match of any term, each match in <mark>."""
    text = " ".join(str(text or "").split())
    if not terms:
        return escape(text[:width])
    pattern = re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, first.start() - BEFORE) if first else 0
    end = min(len(text), start + width)
    piece = text[start:end]
    parts, last = ["…" if start else ""], 0
    for match in pattern.finditer(piece):
        parts.append(piece[last : match.start()])
        parts.append(format_html("<mark>{}</mark>", match.group()))
        last = match.end()
    parts += [piece[last:], "…" if end < len(text) else ""]
    return format_html_join("", "{}", ((part,) for part in parts))
