"""Small immutable results for the calls whose answers the app reads field by field.

Everything else comes back as LINE's JSON (a dict), because LINE adds fields without
notice and the app should see them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SentMessage:
    id: str
    quote_token: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SentMessage:
        return cls(id=str(data.get("id", "")), quote_token=data.get("quoteToken"))


@dataclass(frozen=True)
class SendResult:
    """The outcome of reply, push, multicast, narrowcast or broadcast.

    ``request_id`` is this HTTP call's ``x-line-request-id``. ``accepted_request_id`` is
    the request ID LINE accepted the send under: the same as ``request_id`` on a
    first success, and the original request's ID when ``already_accepted`` (a 409
    on a retry key LINE had already accepted). Store ``accepted_request_id``: it is
    the one narrowcast progress and insight calls need.
    """

    request_id: str | None
    accepted_request_id: str | None
    sent_messages: tuple[SentMessage, ...] = ()
    already_accepted: bool = False


@dataclass(frozen=True)
class Content:
    """Downloaded binary content (message content, rich menu image).

    ``ready`` is False when LINE answered 202 (a video or audio still being
    prepared); ``data`` is then empty. When the download was streamed into a file,
    ``data`` is empty and ``size`` tells how many bytes were written.
    """

    status: int
    data: bytes
    content_type: str | None
    size: int
    ready: bool = True


@dataclass(frozen=True)
class Profile:
    user_id: str
    display_name: str
    picture_url: str | None = None
    status_message: str | None = None
    language: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            user_id=str(data.get("userId", "")),
            display_name=str(data.get("displayName", "")),
            picture_url=data.get("pictureUrl"),
            status_message=data.get("statusMessage"),
            language=data.get("language"),
        )


@dataclass(frozen=True)
class BotInfo:
    user_id: str
    basic_id: str
    display_name: str
    premium_id: str | None = None
    picture_url: str | None = None
    chat_mode: str | None = None
    mark_as_read_mode: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BotInfo:
        return cls(
            user_id=str(data.get("userId", "")),
            basic_id=str(data.get("basicId", "")),
            display_name=str(data.get("displayName", "")),
            premium_id=data.get("premiumId"),
            picture_url=data.get("pictureUrl"),
            chat_mode=data.get("chatMode"),
            mark_as_read_mode=data.get("markAsReadMode"),
        )


@dataclass(frozen=True)
class Quota:
    """``type`` is "none" (no cap) or "limited" (``value`` messages per month)."""

    type: str
    value: int | None = None


@dataclass(frozen=True)
class DeliveryCount:
    """``status``: ready, unready, unavailable_for_privacy or out_of_service."""

    status: str
    success: int | None = None


@dataclass(frozen=True)
class NarrowcastProgress:
    """``phase``: waiting, sending, succeeded or failed."""

    phase: str
    success_count: int | None = None
    failure_count: int | None = None
    target_count: int | None = None
    failed_description: str | None = None
    error_code: int | None = None
    accepted_time: str | None = None
    completed_time: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NarrowcastProgress:
        return cls(
            phase=str(data.get("phase", "")),
            success_count=data.get("successCount"),
            failure_count=data.get("failureCount"),
            target_count=data.get("targetCount"),
            failed_description=data.get("failedDescription"),
            error_code=data.get("errorCode"),
            accepted_time=data.get("acceptedTime"),
            completed_time=data.get("completedTime"),
            raw=dict(data),
        )


@dataclass(frozen=True)
class IssuedToken:
    """A newly issued channel access token. ``repr`` hides the token itself."""

    access_token: str = field(repr=False)
    expires_in: int
    token_type: str = "Bearer"
    key_id: str | None = None


@dataclass(frozen=True)
class TokenInfo:
    """What LINE says about a token: the channel it belongs to and its remaining life."""

    client_id: str
    expires_in: int
    scope: str | None = None
