"""lineapi: the one package that speaks HTTP to LINE.

Plain Python (no Django): the client, webhook signatures, LINE's documented limits
as field-level checks, and rate limiting shared across workers.
"""

from .client import LineClient
from .errors import LineAPIError
from .results import (
    BotInfo,
    Content,
    DeliveryCount,
    IssuedToken,
    NarrowcastProgress,
    Profile,
    Quota,
    SendResult,
    SentMessage,
    TokenInfo,
)
from .signature import sign, verify

__all__ = [
    "BotInfo",
    "Content",
    "DeliveryCount",
    "IssuedToken",
    "LineAPIError",
    "LineClient",
    "NarrowcastProgress",
    "Profile",
    "Quota",
    "SendResult",
    "SentMessage",
    "TokenInfo",
    "sign",
    "verify",
]
