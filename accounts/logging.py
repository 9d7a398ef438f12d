"""A logging filter that keeps secrets out of every log line."""

from __future__ import annotations

import logging
import re

# Bearer tokens, `channel_secret=...`-style pairs and Fernet blobs never reach a log handler intact.
_PATTERNS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._\-+/=]{8,}"), r"\1[redacted]"),
    (
        re.compile(
            r"(?i)((?:channel_?secret|client_secret|access_?token|secret|password)['\"]?\s*[:=]\s*['\"]?)[^\s'\",&]+"
        ),
        r"\1[redacted]",
    ),
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), "[redacted]"),
]


def redact(text: str) -> str:
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
