"""The dashboard and the campaign page: what a marketer reads there is right, in the channel's time zone."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from accounts.services import line_client
from messaging.campaigns.models import (
    BatchState,
    CampaignState,
    CampaignStatistics,
    ChannelDailyStats,
    Delivery,
    DeliveryBatch,
)
from messaging.campaigns.tests.factories import campaign, friends, linesim_channel, staff, user_id
from messaging.models import Conversation, FollowEvent, Friend, Message

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """The quota is cached; each test starts with an empty cache of its own (not the shared file cache)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dash"}}


@pytest.fixture
def shop(linesim):
    return linesim_channel(linesim, time_zone="Asia/Bangkok")  # UTC+7: days start at 17:00 UTC


@pytest.fixture
def marketer(shop, client):
    user = staff(shop, role=Role.MARKETER)
    client.force_login(user)
    return user


def local(channel, days_ago: int, hh: int, mm: int = 0) -> datetime:
    """A moment ``days_ago`` days before today, at hh:mm on the channel's clock."""
    today = timezone.localtime(timezone.now(), channel.tz).date()
    return datetime.combine(today - timedelta(days=days_ago), time(hh, mm), tzinfo=channel.tz)


def day(channel, days_ago: int):
    return timezone.localtime(timezone.now(), channel.tz).date() - timedelta(days=days_ago)


def row(chart: dict, date) -> dict:
    """One row of a chart's table, by column name."""
    found = next(r for r in chart["rows"] if r["date"] == date)
    return dict(zip(chart["columns"], found["values"], strict=True))


def dashboard(client, channel, **params):
    response = client.get(reverse("campaign-dashboard", args=[channel.pk]), params)
    assert response.status_code == 200
    return response


def quota_card(client, channel, **params):
    """The quota card: the dashboard loads it after the page (htmx), since it asks LINE."""
    page = dashboard(client, channel).content.decode()
    url = reverse("campaign-dashboard-quota", args=[channel.pk])
    assert f'hx-get="{url}" hx-trigger="load"' in page
    response = client.get(url, params)
    assert response.status_code == 200
    return response


def test_follows_and_blocks_per_day_come_from_our_follow_history_in_the_channels_time_zone(shop, marketer, client):
    people = list(friends(shop, 5))
    # 00:10 and 23:50 in Bangkok are on different UTC dates than the Bangkok ones; they must land on Bangkok days.
    for who in people[:3]:
        FollowEvent.objects.create(friend=who, kind=FollowEvent.Kind.FOLLOWED, at=local(shop, 2, 0, 10))
    FollowEvent.objects.create(friend=people[3], kind=FollowEvent.Kind.FOLLOWED, at=local(shop, 2, 23, 50))
    FollowEvent.objects.create(friend=people[0], kind=FollowEvent.Kind.BLOCKED, at=local(shop, 1, 6))
    FollowEvent.objects.create(friend=people[0], kind=FollowEvent.Kind.UNBLOCKED, at=local(shop, 1, 20))
    FollowEvent.objects.create(friend=people[1], kind=FollowEvent.Kind.BLOCKED, at=local(shop, 1, 23, 59))
    Friend.objects.filter(pk=people[1].pk).update(is_following=False)
    FollowEvent.objects.create(friend=people[2], kind=FollowEvent.Kind.FOLLOWED, at=local(shop, 40, 12))  # too old

    page = dashboard(client, shop, days=7)
    follows = page.context["follows_chart"]
    assert row(follows, day(shop, 2)) == {"Added as friend": 4, "Unblocked": 0, "Blocked": 0}
    assert row(follows, day(shop, 1)) == {"Added as friend": 0, "Unblocked": 1, "Blocked": 2}
    assert follows["totals"] == [4, 1, 2]
    friends_line = page.context["friends_chart"]
    assert row(friends_line, day(shop, 0)) == {"Friends (our follow history)": 4}  # following now
    assert row(friends_line, day(shop, 1)) == {"Friends (our follow history)": 4}
    assert row(friends_line, day(shop, 2)) == {"Friends (our follow history)": 5}  # before the two blocks
    assert row(friends_line, day(shop, 3)) == {"Friends (our follow history)": 1}  # before the four follows
    body = page.content.decode()
    assert 'data-testid="table-follows"' in body and "Asia/Bangkok" in body


def test_lines_own_follower_figures_are_drawn_beside_ours_when_pulled(shop, marketer, client):
    friends(shop, 3)
    ChannelDailyStats.objects.create(
        channel=shop,
        date=day(shop, 1),
        followers=120,
        blocks=20,
        targeted_reaches=90,
        sent_by_type={"apiMulticast": 300, "apiReply": 4, "chat": 9},
    )
    page = dashboard(client, shop, days=7)
    friends_line = row(page.context["friends_chart"], day(shop, 1))
    assert friends_line["Friends according to LINE (followers − blocks)"] == 100
    assert friends_line["Target reach (LINE)"] == 90
    assert row(page.context["sent_chart"], day(shop, 1))["Sent through the API according to LINE"] == 304
    assert "Japan time (UTC+9)" in page.content.decode()


def outbound(channel, conversation, *, via, at, parts=1, delivery=Message.Delivery.SENT, sender="staff"):
    for part in range(parts):
        Message.objects.create(
            channel=channel,
            conversation=conversation,
            direction=Message.Direction.OUTBOUND,
            type="text",
            sender=sender,
            text="hi",
            sent_at=at,
            via=via,
            delivery=delivery,
            part=part,
        )


def test_messages_sent_per_day_by_type_come_from_the_log_and_accepted_batches(shop, marketer, client):
    friend = friends(shop, 1).get()
    chat = Conversation.objects.create(channel=shop, source_type="user", source_id=friend.user_id, friend=friend)
    outbound(shop, chat, via="reply", at=local(shop, 1, 0, 5), parts=3)  # one send of three messages: 1
    outbound(shop, chat, via="reply", at=local(shop, 1, 23, 55))
    outbound(shop, chat, via="push", at=local(shop, 1, 12))
    outbound(shop, chat, via="push", at=local(shop, 1, 13), delivery=Message.Delivery.FAILED)  # not sent
    outbound(shop, chat, via="push", at=local(shop, 2, 23, 59))
    outbound(shop, chat, via="push", at=local(shop, 1, 9), sender="auto_reply")

    multicast = campaign(shop, state=CampaignState.DONE, delivery=Delivery.MULTICAST)
    for seq, (count, when) in enumerate([(500, local(shop, 1, 0, 1)), (120, local(shop, 1, 23, 59))]):
        DeliveryBatch.objects.create(
            campaign=multicast,
            seq=seq,
            kind=Delivery.MULTICAST,
            size=count,
            state=BatchState.ACCEPTED,
            accepted_count=count,
            accepted_at=when,
        )
    DeliveryBatch.objects.create(
        campaign=multicast, seq=2, kind=Delivery.MULTICAST, size=500, state=BatchState.FAILED, failed_count=500
    )
    broadcast = campaign(
        shop, state=CampaignState.DONE, delivery=Delivery.BROADCAST, recipients_count=2000, accepted_count=2000
    )
    DeliveryBatch.objects.create(
        campaign=broadcast, seq=0, kind=Delivery.BROADCAST, state=BatchState.ACCEPTED, accepted_at=local(shop, 2, 8)
    )

    sent = dashboard(client, shop, days=7).context["sent_chart"]
    assert row(sent, day(shop, 1)) == {"Reply": 2, "Push": 2, "Multicast": 620, "Broadcast": 0, "Narrowcast": 0}
    assert row(sent, day(shop, 2)) == {"Reply": 0, "Push": 1, "Multicast": 0, "Broadcast": 2000, "Narrowcast": 0}
    assert sent["totals"] == [2, 3, 620, 2000, 0]


def test_the_range_selector_shows_7_30_or_90_days_ending_today(shop, marketer, client):
    for days in (7, 30, 90):
        page = dashboard(client, shop, days=days)
        rows = page.context["sent_chart"]["rows"]
        assert len(rows) == days and rows[-1]["date"] == day(shop, 0)
        assert f'href="?days={days}" aria-current="page"' in page.content.decode()
    assert len(dashboard(client, shop, days=12345).context["sent_chart"]["rows"]) == 30


def test_the_quota_shows_lines_numbers_read_live(shop, marketer, client, linesim):
    linesim.config(quota=1000)
    line_client(shop).multicast(
        [user_id(i) for i in range(40)], [{"type": "text", "text": "hi"}], retry_key=uuid.uuid4()
    )
    scheduled = campaign(
        shop, state=CampaignState.SCHEDULED, scheduled_at=timezone.now() + timedelta(minutes=5), estimated_reach=25
    )
    assert scheduled.pk
    page = quota_card(client, shop)
    quota = page.context["quota"]
    assert (quota.ok, quota.limit, quota.used, quota.planned, quota.remaining) == (True, 1000, 40, 25, 960)
    body = page.content.decode()
    assert re.search(r'data-testid="quota-used">40<', body) and re.search(r'data-testid="quota-limit">1,000<', body)
    assert re.search(r'data-testid="quota-available">935<', body)  # 1000 - 40 used - 25 planned
    line_client(shop).multicast(
        [user_id(i) for i in range(10)], [{"type": "text", "text": "hi"}], retry_key=uuid.uuid4()
    )
    assert quota_card(client, shop).context["quota"].used == 40  # cached for a minute: reloads do not hit LINE
    assert quota_card(client, shop, refresh="1").context["quota"].used == 50  # "Read again"


def test_the_quota_says_plainly_when_line_cannot_be_reached(shop, marketer, client):
    shop.api_base = shop.data_api_base = "http://127.0.0.1:9"  # nothing listens there
    shop.save(update_fields=["api_base", "data_api_base"])
    page = quota_card(client, shop)
    body = page.content.decode()
    assert not page.context["quota"].ok
    assert "LINE could not be reached" in body and 'data-testid="quota-error"' in body and "Try again" in body
    assert "None" not in body.split("<figure")[0]


def test_an_unlimited_plan_shows_the_messages_used(shop, marketer, client, linesim):
    linesim.config(quota=None)
    body = quota_card(client, shop).content.decode()
    assert "no monthly limit" in body and 'data-testid="quota-used">0<' in body


# -- the campaign page --------------------------------------------------------------------------------------


def test_the_campaign_page_groups_lines_failure_reasons_and_shows_times_in_the_channels_zone(shop, marketer, client):
    started = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)  # 08:30 in Bangkok
    c = campaign(
        shop,
        state=CampaignState.DONE,
        delivery=Delivery.PUSH,
        recipients_count=600,
        accepted_count=560,
        failed_count=40,
        started_at=started,
        finished_at=started + timedelta(minutes=3),
    )
    reason = {
        "status": 400,
        "kind": "client",
        "message": "The request body has 1 error(s)",
        "details": [{"property": "to", "message": "invalid"}],
    }
    DeliveryBatch.objects.create(
        campaign=c,
        seq=0,
        kind=Delivery.PUSH,
        size=500,
        state=BatchState.ACCEPTED,
        accepted_count=475,
        failed_count=25,
        error={"failures": [{"user_id": user_id(i), **reason} for i in range(20)]},
    )
    DeliveryBatch.objects.create(
        campaign=c,
        seq=1,
        kind=Delivery.PUSH,
        size=15,
        state=BatchState.FAILED,
        failed_count=15,
        error={"status": 403, "kind": "auth", "message": "Forbidden", "details": []},
    )
    page = client.get(reverse("campaign-detail", args=[shop.pk, c.pk]))
    failures = page.context["failures"]
    assert [(f["message"], f["count"]) for f in failures] == [
        ("The request body has 1 error(s)", 20),
        ("Forbidden", 15),
        ("", 5),
    ]
    assert failures[0]["user_ids"] == [user_id(i) for i in range(5)]
    body = page.content.decode()
    assert "08:30" in body or "8:30" in body
    assert 'data-testid="result-failed">40<' in body and "took 3" in body


def test_lines_insight_numbers_are_charted_when_published(shop, marketer, client):
    c = campaign(
        shop,
        state=CampaignState.DONE,
        delivery=Delivery.BROADCAST,
        recipients_count=1000,
        accepted_count=1000,
        finished_at=timezone.now(),
    )
    CampaignStatistics.objects.create(
        campaign=c,
        delivered=980,
        unique_impression=490,
        unique_click=None,
        fetched_at=timezone.now(),
        data={
            "overview": {"delivered": 980, "uniqueImpression": 490, "uniqueClick": None},
            "messages": [{"seq": 1, "impression": 600}],
            "clicks": [{"seq": 1, "url": "https://shop.example/sale", "click": 40, "uniqueClick": 31}],
        },
    )
    page = client.get(reverse("campaign-detail", args=[shop.pk, c.pk]))
    funnel = {r["label"]: (r["value"], r["share"]) for r in page.context["funnel"]["rows"]}
    assert funnel["Delivered"] == (980, 100.0) and funnel["Opened (unique impressions)"] == (490, 50.0)
    assert funnel["Tapped a link (unique clicks)"] == (None, None)
    body = page.content.decode()
    assert "not published (fewer than 20 people)" in body and "https://shop.example/sale" in body
    assert 'data-testid="chart-bubbles"' in body


def test_the_progress_fragment_polls_only_while_sending(shop, marketer, client):
    sending = campaign(shop, state=CampaignState.SENDING, delivery=Delivery.MULTICAST, recipients_count=1000)
    DeliveryBatch.objects.create(
        campaign=sending, seq=0, kind=Delivery.MULTICAST, size=500, state=BatchState.ACCEPTED, accepted_count=500
    )
    DeliveryBatch.objects.create(campaign=sending, seq=1, kind=Delivery.MULTICAST, size=500)
    body = client.get(reverse("campaign-progress", args=[shop.pk, sending.pk])).content.decode()
    assert 'hx-trigger="every 2s"' in body and 'aria-valuenow="500"' in body and "50% done" in body
    assert 'data-testid="pending">500<' in body
    sending.state = CampaignState.DONE
    sending.save()
    assert "hx-trigger" not in client.get(reverse("campaign-progress", args=[shop.pk, sending.pk])).content.decode()
