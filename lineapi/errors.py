"""The one exception every LINE call raises, and the rules that classify it.

Callers decide whether to retry from ``kind`` and ``retryable`` alone; they never
need to look at status codes or LINE's message text themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

Kind = Literal[
    "rate_limit",
    "quota",
    "server",
    "timeout",
    "connection",
    "auth",
    "client",
    "not_found",
    "conflict",
]

KINDS: tuple[Kind, ...] = (
    "rate_limit",
    "quota",
    "server",
    "timeout",
    "connection",
    "auth",
    "client",
    "not_found",
    "conflict",
)

# LINE answers 429 for several unrelated reasons and tells them apart only by text.
# The monthly-quota one will not clear by waiting, so it must not be retried.
QUOTA_MESSAGE = "You have reached your monthly limit."

_RETRYABLE_KINDS = frozenset({"rate_limit", "server", "timeout", "connection"})


def classify(status: int | None, message: str = "") -> tuple[Kind, bool]:
    """Return ``(kind, retryable)`` for an HTTP status and LINE's ``message``.

    ``status`` is None only for network failures, which the transport classifies
    itself (timeout vs connection); this returns "connection" for them.
    """
    kind: Kind
    if status is None:
        kind = "connection"
    elif status == 429:
        kind = "quota" if "monthly limit" in message.lower() else "rate_limit"
    elif status >= 500:
        kind = "server"
    elif status in (401, 403):
        kind = "auth"
    elif status in (404, 410):
        kind = "not_found"
    elif status == 409:
        kind = "conflict"
    else:
        kind = "client"
    return kind, kind in _RETRYABLE_KINDS


class LineAPIError(Exception):
    """A LINE call failed. Never carries a token, a secret or the request body.

    Attributes:
        status: HTTP status, or None when no response arrived (timeout, connection).
        message: LINE's ``message`` (or an OAuth ``error: error_description``).
        details: LINE's ``details`` as a list of ``{"message", "property"}`` dicts.
        request_id: the ``x-line-request-id`` of the failed call, when LINE sent one.
        accepted_request_id: ``x-line-accepted-request-id``, when present.
        kind: one of :data:`KINDS`.
        retryable: True when the same request (with the same retry key) may succeed later.
        method, path: what was called (path without query string).
        retry_after: seconds from a ``Retry-After`` header, when LINE sends one.
    """

    def __init__(
        self,
        kind: Kind,
        message: str,
        *,
        status: int | None = None,
        details: Sequence[Mapping[str, Any]] = (),
        request_id: str | None = None,
        accepted_request_id: str | None = None,
        retryable: bool | None = None,
        method: str = "",
        path: str = "",
        retry_after: float | None = None,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        self.kind: Kind = kind
        self.message = message
        self.status = status
        self.details: list[dict[str, str]] = [_detail(d) for d in details]
        self.request_id = request_id
        self.accepted_request_id = accepted_request_id
        self.retryable = kind in _RETRYABLE_KINDS if retryable is None else retryable
        self.method = method
        self.path = path
        self.retry_after = retry_after
        super().__init__(self.__str__())

    @classmethod
    def from_status(
        cls,
        status: int,
        message: str,
        **kwargs: Any,
    ) -> LineAPIError:
        kind, retryable = classify(status, message)
        return cls(kind, message, status=status, retryable=retryable, **kwargs)

    def __str__(self) -> str:
        where = f"{self.method} {self.path}".strip()
        head = f"LINE API {where}: " if where else "LINE API: "
        status = f"HTTP {self.status} " if self.status is not None else ""
        text = f"{head}{status}{self.kind}: {self.message or 'no message'}"
        if self.details:
            parts = [
                f"{d['property']}: {d['message']}" if d.get("property") else d["message"] for d in self.details[:5]
            ]
            more = f" (+{len(self.details) - 5} more)" if len(self.details) > 5 else ""
            text += " [" + "; ".join(parts) + more + "]"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"LineAPIError(kind={self.kind!r}, status={self.status!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe summary, for storing on a delivery row or a task result."""
        return {
            "kind": self.kind,
            "message": self.message,
            "status": self.status,
            "details": [dict(d) for d in self.details],
            "request_id": self.request_id,
            "accepted_request_id": self.accepted_request_id,
            "retryable": self.retryable,
            "method": self.method,
            "path": self.path,
            "retry_after": self.retry_after,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineAPIError:
        fields = dict(data)
        return cls(fields.pop("kind"), fields.pop("message"), **fields)

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle through ``args`` by default, which would lose every
        # keyword attribute; Celery pickles exceptions raised by tasks.
        return (_rebuild, (self.to_dict(),))


def _rebuild(data: Mapping[str, Any]) -> LineAPIError:
    return LineAPIError.from_dict(data)


def _detail(raw: Mapping[str, Any]) -> dict[str, str]:
    return {
        "message": str(raw.get("message") or ""),
        "property": str(raw.get("property") or ""),
    }
