"""The dashboard's charts: our own history (and LINE's figures when pulled) as chart geometry, in words a
marketer reads. Reads come from selectors; drawing is charts.py's and the templates'."""

from __future__ import annotations

from django.utils.translation import gettext as _

from . import charts, selectors

RANGES = (7, 30, 90)


def day_label(channel) -> str:
    return _("Day (%(tz)s)") % {"tz": channel.time_zone}


def period_charts(channel, days: selectors.Days) -> dict:
    """The charts of the chosen period: friends, follows and blocks, messages sent by type."""
    follows = selectors.follow_history(channel, days)
    sent = selectors.sent_by_type(channel, days)
    line = selectors.line_statistics(channel, days)
    x_label = day_label(channel)
    line_note = _("LINE's figures count days in Japan time (UTC+9) and arrive a day later.") if line else ""
    friends = [charts.series(_("Friends (our follow history)"), follows["friends"], "s0")]
    if line:
        friends += [
            charts.series(_("Friends according to LINE (followers − blocks)"), line["friends"], "s1", dashed=True),
            charts.series(_("Target reach (LINE)"), line["targeted_reaches"], "s4", dashed=True),
        ]
    type_names = {
        "reply": _("Reply"),
        "push": _("Push"),
        "multicast": _("Multicast"),
        "broadcast": _("Broadcast"),
        "narrowcast": _("Narrowcast"),
    }
    return {
        "friends_chart": charts.line_chart(
            chart_id="friends",
            title=_("Friends over time"),
            days=days.days,
            lines=friends,
            y_label=_("Friends"),
            x_label=x_label,
            note=line_note,
        ),
        "follows_chart": charts.bar_chart(
            chart_id="follows",
            title=_("New friends and blocks per day"),
            days=days.days,
            y_label=_("People"),
            x_label=x_label,
            above=[
                charts.series(_("Added as friend"), follows["followed"], "s0"),
                charts.series(_("Unblocked"), follows["unblocked"], "s5"),
            ],
            below=[charts.series(_("Blocked"), follows["blocked"], "s3")],
            empty_text=_("Nobody followed, blocked or unblocked the account in these days."),
        ),
        "sent_chart": charts.bar_chart(
            chart_id="sent",
            title=_("Messages sent per day, by type"),
            days=days.days,
            x_label=x_label,
            y_label=_("Messages (one per recipient)"),
            above=[charts.series(type_names[k], sent[k], f"s{i}") for i, k in enumerate(selectors.SENT_TYPES)],
            overlays=[charts.series(_("Sent through the API according to LINE"), line["sent"], "s6", dashed=True)]
            if line and any(v is not None for v in line["sent"])
            else (),
            note=_(
                "Counted as LINE counts them: one per recipient per send, however many messages it carries. "
                "Replies do not count against the quota."
            )
            + (" " + line_note if line_note else ""),
            empty_text=_("Nothing was sent in these days."),
        ),
    }


def month_chart(channel, quota) -> dict:
    """This month's sends that count against the quota, cumulative, against LINE's monthly quota."""
    month, used = selectors.quota_month_usage(channel)
    lines = [charts.series(_("Sent this month (our log, excluding replies)"), used, "s2")]
    if quota.ok and quota.limit is not None:
        lines.append(
            charts.series(_("Monthly quota (LINE)"), [quota.limit] * len(month.days), "s3", dashed=True, reference=True)
        )
    return charts.line_chart(
        chart_id="month",
        title=_("This month: messages that count against the quota"),
        days=month.days,
        x_label=day_label(channel),
        y_label=_("Messages, cumulative"),
        lines=lines,
    )
