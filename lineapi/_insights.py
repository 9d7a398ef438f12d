"""Insight endpoints of LineClient (each limited to 60 requests per hour by LINE).

Results are LINE's JSON as dicts: their fields are many, often null below LINE's
privacy threshold, and LINE adds new ones without notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ._base import BaseClient, line_date, seg


class InsightCalls(BaseClient):
    def get_insight_message_delivery(self, date: dt.date | str) -> dict[str, Any]:
        """Messages sent on ``date`` (UTC+9), by channel: broadcast, apiPush, apiReply, ..."""
        return dict(self._get("/v2/bot/insight/message/delivery", {"date": line_date(date)}))

    def get_insight_followers(self, date: dt.date | str | None = None) -> dict[str, Any]:
        """``followers``, ``targetedReaches`` and ``blocks`` as of ``date`` (UTC+9)."""
        params = {"date": line_date(date)} if date is not None else None
        return dict(self._get("/v2/bot/insight/followers", params))

    def get_insight_demographics(self) -> dict[str, Any]:
        return dict(self._get("/v2/bot/insight/demographic"))

    def get_insight_message_event(self, request_id: str) -> dict[str, Any]:
        """Interaction statistics of a broadcast or narrowcast, by its accepted request ID."""
        return dict(self._get("/v2/bot/insight/message/event", {"requestId": request_id}))

    def get_statistics_per_unit(
        self,
        unit: str,
        *,
        date_from: dt.date | str,
        date_to: dt.date | str,
    ) -> dict[str, Any]:
        """Interaction statistics of push/multicast sent with ``custom_aggregation_units=[unit]``."""
        params = {
            "customAggregationUnit": unit,
            "from": line_date(date_from),
            "to": line_date(date_to),
        }
        return dict(self._get("/v2/bot/insight/message/event/aggregation", params))

    def get_rich_menu_insight_summary(
        self, rich_menu_id: str, *, date_from: dt.date | str, date_to: dt.date | str
    ) -> dict[str, Any]:
        params = {"from": line_date(date_from), "to": line_date(date_to)}
        return dict(self._get(f"/v2/bot/insight/richmenu/{seg(rich_menu_id)}/summary", params))
