"""In-memory state of the simulated platform.

Everything lives in one ``Sim`` object owned by the Starlette app.  Handlers run on a
single asyncio loop and never await in the middle of a mutation, so no locks are needed.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from . import ids
from .faults import FaultSet
from .ledger import Ledger
from .ratelimit import RateLimiter

SHORT_LIVED_TTL = 30 * 24 * 3600  # /v2/oauth/accessToken
STATELESS_TTL = 15 * 60  # /oauth2/v3/token
SHORT_LIVED_MAX_PER_CHANNEL = 30  # the oldest is revoked beyond this
LONG_LIVED_EXPIRES_IN = 10 * 365 * 24 * 3600  # "never": what verify reports for registered tokens
REPLY_TOKEN_TTL = 60  # usable 1 minute after (re)delivery...
REPLY_TOKEN_MAX_AGE = 20 * 60  # ...and never 20 minutes after the event
LINK_TOKEN_TTL = 10 * 60


@dataclass
class User:
    user_id: str
    display_name: str
    language: str | None = None
    picture_url: str | None = None
    status_message: str | None = None
    state: str = "new"  # "new" (never followed), "friend", "blocked"
    has_unfollowed: bool = False

    def to_json(self) -> dict:
        out = {"userId": self.user_id, "displayName": self.display_name, "state": self.state}
        for key, value in (
            ("language", self.language),
            ("pictureUrl", self.picture_url),
            ("statusMessage", self.status_message),
        ):
            if value is not None:
                out[key] = value
        return out

    def profile(self) -> dict:
        out = self.to_json()
        del out["state"]
        return out


@dataclass
class Group:
    group_id: str
    group_name: str
    member_ids: list[str]
    picture_url: str | None = None

    def to_json(self) -> dict:
        return {
            "groupId": self.group_id,
            "groupName": self.group_name,
            "memberIds": self.member_ids,
            "pictureUrl": self.picture_url,
        }


@dataclass
class Channel:
    channel_id: str
    secret: str
    access_token: str
    webhook_url: str | None
    bot_user_id: str
    basic_id: str
    display_name: str
    webhook_active: bool = True
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    consumption: int = 0  # recipients of accepted push/multicast/broadcast/narrowcast
    short_lived: deque = field(default_factory=deque)
    blocked_ids: set[str] = field(default_factory=set)  # kept in step by set_state()

    def to_json(self) -> dict:
        return {
            "channelId": self.channel_id,
            "channelSecret": self.secret,
            "accessToken": self.access_token,
            "webhookUrl": self.webhook_url,
            "botUserId": self.bot_user_id,
            "basicId": self.basic_id,
            "displayName": self.display_name,
            "users": len(self.users),
            "groups": len(self.groups),
        }

    def audience(self) -> list[str]:
        """Who a broadcast reaches: registered users who have not blocked the account."""
        return [u.user_id for u in self.users.values() if u.state != "blocked"]

    def set_state(self, user: User, state: str) -> None:
        """Change a user's friendship state; keeps ``blocked_ids`` (read on every send) in step."""
        user.state = state
        if state == "blocked":
            user.has_unfollowed = True
            self.blocked_ids.add(user.user_id)
        else:
            self.blocked_ids.discard(user.user_id)


@dataclass
class Token:
    channel_id: str
    kind: str  # "long-lived", "short-lived", "stateless"
    expires_at: float | None  # None: never

    def expires_in(self, now: float) -> int:
        if self.expires_at is None:
            return LONG_LIVED_EXPIRES_IN
        return max(0, int(self.expires_at - now))


@dataclass
class ReplyToken:
    channel_id: str
    to: str  # user, group or room that the reply reaches
    event_time: float
    usable_until: float
    used: bool = False


@dataclass
class LinkToken:
    channel_id: str
    user_id: str
    expires_at: float
    used: bool = False


@dataclass
class Content:
    channel_id: str
    data: bytes
    content_type: str
    unsent: bool = False


@dataclass
class Config:
    rate_limits: bool = True
    quota: int | None = None  # None: {"type": "none"} (unlimited)
    # Per-channel settings win over the global ones when a channel id is present.
    channel_rate_limits: dict[str, bool] = field(default_factory=dict)
    channel_quota: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict:
        channels: dict[str, dict] = {}
        for cid, value in self.channel_rate_limits.items():
            channels.setdefault(cid, {})["rateLimits"] = value
        for cid, value in self.channel_quota.items():
            channels.setdefault(cid, {})["quota"] = value
        return {"rateLimits": self.rate_limits, "quota": self.quota, "channels": channels}


class Sim:
    """The whole simulated platform."""

    def __init__(self, *, rate_limits: bool = True, webhook_timeout: float = 10.0):
        self.defaults = Config(rate_limits=rate_limits)
        self.webhook_timeout = webhook_timeout
        self.channels: dict[str, Channel] = {}
        self.tokens: dict[str, Token] = {}
        self.started_at = time.time()
        self._reset_traffic()

    # -- lifecycle -----------------------------------------------------------------
    def _reset_traffic(self) -> None:
        self.config = Config(self.defaults.rate_limits, self.defaults.quota)
        self.consumption_reset()
        self.ledger = Ledger()
        self.limiter = RateLimiter()
        self.faults = FaultSet()
        self.reply_tokens: dict[str, ReplyToken] = {}
        self.link_tokens: dict[str, LinkToken] = {}
        self.contents: dict[str, Content] = {}
        self.events: dict[str, tuple[str, dict]] = {}  # webhookEventId -> (channelId, event)
        # Rich menu state is per channel; created lazily by richmenus.store_for().
        self.richmenus: dict = {}

    def reset(self, *, everything: bool = False) -> None:
        """Forget traffic; with ``everything`` also forget channels, users and tokens."""
        self._reset_traffic()
        if everything:
            self.channels.clear()
            self.tokens.clear()

    # -- channels and tokens -------------------------------------------------------
    def register_channel(self, data: dict) -> tuple[Channel, bool]:
        """Create or update a channel from the control API's JSON; return (channel, created)."""
        cid = str(data["channelId"])
        existing = self.channels.get(cid)
        if existing is not None:
            self.tokens.pop(existing.access_token, None)
        channel = Channel(
            channel_id=cid,
            secret=data["channelSecret"],
            access_token=data["accessToken"],
            webhook_url=data.get("webhookUrl") or None,
            bot_user_id=data.get("botUserId") or (existing.bot_user_id if existing else ids.user_id()),
            basic_id=data.get("basicId") or (existing.basic_id if existing else ids.basic_id()),
            display_name=data.get("displayName") or (existing.display_name if existing else f"Channel {cid}"),
        )
        if existing is not None:
            channel.users, channel.groups = existing.users, existing.groups
            channel.blocked_ids = existing.blocked_ids
            channel.consumption, channel.short_lived = existing.consumption, existing.short_lived
        self.channels[cid] = channel
        self.tokens[channel.access_token] = Token(cid, "long-lived", None)
        return channel, existing is None

    def channel_for_token(self, token: str) -> Channel | None:
        info = self.tokens.get(token)
        if info is None:
            return None
        if info.expires_at is not None and info.expires_at <= time.time():
            del self.tokens[token]
            return None
        return self.channels.get(info.channel_id)

    def issue_token(self, channel: Channel, kind: str) -> tuple[str, int]:
        ttl = SHORT_LIVED_TTL if kind == "short-lived" else STATELESS_TTL
        token = ids.access_token()
        self.tokens[token] = Token(channel.channel_id, kind, time.time() + ttl)
        if kind == "short-lived":
            channel.short_lived.append(token)
            while len(channel.short_lived) > SHORT_LIVED_MAX_PER_CHANNEL:
                self.tokens.pop(channel.short_lived.popleft(), None)
        return token, ttl

    def consumption_reset(self) -> None:
        for channel in self.channels.values():
            channel.consumption = 0

    def quota_of(self, channel: Channel) -> int | None:
        return self.config.channel_quota.get(channel.channel_id, self.config.quota)

    def rate_limited(self, channel: Channel) -> bool:
        return self.config.channel_rate_limits.get(channel.channel_id, self.config.rate_limits)

    # -- users -----------------------------------------------------------------------
    def add_user(self, channel: Channel, data: dict) -> User:
        uid = data.get("userId") or ids.user_id()
        user = User(
            uid,
            data.get("displayName") or f"User {uid[1:7]}",
            data.get("language"),
            data.get("pictureUrl"),
            data.get("statusMessage"),
        )
        old = channel.users.get(uid)
        if old is not None:
            user.state, user.has_unfollowed = old.state, old.has_unfollowed
        channel.users[uid] = user
        return user

    # -- reply and link tokens ---------------------------------------------------------
    def issue_reply_token(self, channel: Channel, to: str, event_time: float) -> str:
        token = ids.reply_token()
        self.reply_tokens[token] = ReplyToken(channel.channel_id, to, event_time, time.time() + REPLY_TOKEN_TTL)
        return token

    def register_reply_token(self, channel: Channel, token: str, to: str) -> None:
        """Make a caller-chosen token (from a raw /_sim/ webhook event) usable like ours."""
        if token not in self.reply_tokens:
            now = time.time()
            self.reply_tokens[token] = ReplyToken(channel.channel_id, to, now, now + REPLY_TOKEN_TTL)

    def refresh_reply_token(self, token: str) -> None:
        """A redelivery makes the same token usable for another minute (within 20 min)."""
        info = self.reply_tokens.get(token)
        if info is not None:
            info.usable_until = min(time.time() + REPLY_TOKEN_TTL, info.event_time + REPLY_TOKEN_MAX_AGE)

    def take_reply_token(self, channel: Channel, token: str) -> ReplyToken | None:
        """Return the token's record if it can be used now (without consuming it)."""
        info = self.reply_tokens.get(token)
        if info is None or info.used or info.channel_id != channel.channel_id or time.time() > info.usable_until:
            return None
        return info

    def issue_link_token(self, channel: Channel, user_id: str) -> str:
        token = ids.link_token()
        self.link_tokens[token] = LinkToken(channel.channel_id, user_id, time.time() + LINK_TOKEN_TTL)
        return token
