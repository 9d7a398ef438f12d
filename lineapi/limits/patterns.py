"""Identifier formats LINE documents."""

from __future__ import annotations

import re

USER_ID_RE = re.compile(r"^U[0-9a-f]{32}$")
ALIAS_ID_RE = re.compile(r"^[a-z0-9_-]{1,32}$")
AGGREGATION_UNIT_RE = re.compile(r"^[a-zA-Z0-9_]{1,30}$")
SUBSTITUTION_KEY_RE = re.compile(r"^[0-9a-zA-Z_]{1,20}$")
