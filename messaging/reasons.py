"""Why a send did not settle (stored on Message.error) and how it is shown.

Reasons are stored in English, as msgids marked with gettext_noop: the sweeper and the workers run in no
one's language, and agents in Taiwan, Japan and Thailand read the same row. They are translated when shown
(Message.error_text, reason_text); LINE's own words, which follow REFUSED, stay as LINE wrote them.
"""

from __future__ import annotations

from django.utils.translation import gettext, gettext_noop

REPLY_UNCONFIRMED = gettext_noop(
    "LINE did not confirm this reply, so it may or may not have reached them. A reply token cannot be used "
    "twice: resend it as a push message if they did not get it."
)
PUSH_UNCONFIRMED = gettext_noop(
    "LINE did not answer after several tries, so this may not have reached them. Resend it if they did not get it."
)
AUTO_REPLY_LATE = gettext_noop("Not sent in time: the reply token expired before the message could be sent.")
RETRYING = gettext_noop("LINE did not answer; trying again with the same retry key, so it cannot arrive twice.")
UNCONFIRMED = frozenset({REPLY_UNCONFIRMED, PUSH_UNCONFIRMED})
REFUSED = gettext_noop("LINE refused the message: %(reason)s")  # LINE's own words follow


def reason_text(error: str) -> str:
    """A stored send reason in the current language; LINE's own words (always English) stay as they are."""
    if not error:
        return ""
    prefix = REFUSED.split("%(reason)s")[0]
    if error.startswith(prefix):
        return gettext(REFUSED) % {"reason": error[len(prefix) :]}
    return gettext(error)
