"""Beat's statistics job: LINE's figures for finished campaigns and for each channel's day reach the pages that
show them, within LINE's 60-requests-an-hour insight limits (lineapi is patched: linesim has no insights)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from lineapi import LineAPIError, LineClient
from messaging.campaigns import stats, tasks
from messaging.campaigns.models import CampaignState, CampaignStatistics, ChannelDailyStats
from messaging.campaigns.tests.factories import campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def line(monkeypatch):
    """LINE's insight answers, and a record of the calls made."""
    calls = []

    def answer(name, value):
        def method(self, *args, **kwargs):
            calls.append(name)
            if isinstance(value, Exception):
                raise value
            return value

        monkeypatch.setattr(LineClient, name, method)

    answer("get_statistics_per_unit", {"overview": {"delivered": 1200, "uniqueImpression": 800, "uniqueClick": 95}})
    answer("get_insight_followers", {"status": "ready", "followers": 1500, "targetedReaches": 1200, "blocks": 30})
    answer("get_insight_message_delivery", {"status": "ready", "apiMulticast": 1200, "apiPush": 30})
    answer("get_quota_consumption", 1230)
    answer.calls = calls
    return answer


def finished(channel, **fields):
    return campaign(channel, state=CampaignState.DONE, delivery="multicast", started_at=timezone.now(),
                    finished_at=timezone.now(), **fields)


def test_beat_stores_a_finished_campaigns_figures_and_asks_again_only_a_day_later(line):
    c = finished(ChannelFactory())

    tasks.pull_statistics()
    tasks.pull_statistics()  # the next beat, minutes later

    figures = CampaignStatistics.objects.get(campaign=c)
    assert (figures.delivered, figures.unique_impression, figures.unique_click) == (1200, 800, 95)
    assert line.calls.count("get_statistics_per_unit") == 1
    assert figures.next_fetch_at > timezone.now() + timedelta(hours=23)


def test_beat_stores_yesterdays_followers_sends_and_quota_for_the_dashboard(line):
    channel = ChannelFactory()

    tasks.pull_statistics()

    day = ChannelDailyStats.objects.get(channel=channel)
    assert day.date == stats._today_jst() - timedelta(days=1)
    assert (day.followers, day.targeted_reaches, day.blocks, day.quota_used) == (1500, 1200, 30, 1230)
    assert day.sent_by_type == {"apiMulticast": 1200, "apiPush": 30}


def test_lines_refusal_is_kept_with_the_campaign_and_does_not_stop_the_job(line):
    channel = ChannelFactory()
    line("get_statistics_per_unit", LineAPIError("not_found", "Not found", status=404))
    c = finished(channel)

    tasks.pull_statistics()

    figures = CampaignStatistics.objects.get(campaign=c)
    assert figures.delivered is None and figures.data["error"]["status"] == 404
    assert ChannelDailyStats.objects.get(channel=channel).followers == 1500


def test_campaigns_finished_more_than_two_weeks_ago_are_left_alone(line):
    finished(ChannelFactory()).__class__.objects.update(finished_at=timezone.now() - timedelta(days=15))

    tasks.pull_statistics()

    assert "get_statistics_per_unit" not in line.calls
    assert not CampaignStatistics.objects.exists()
