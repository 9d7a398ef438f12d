"""The composer, the REST API and bad input: each problem gets a clear error at its field, nothing half-scheduled."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import line_client
from lineapi import LineAPIError
from lineapi.limits import check_messages
from messaging.campaigns import emoji, services, stickers
from messaging.campaigns.models import Campaign, CampaignSettings, CampaignState
from messaging.campaigns.tests.factories import TEXT, campaign, friends, linesim_channel, staff, user_id

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """The dashboard caches LINE's quota: keep it out of the shared file cache."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "compose"}}


@pytest.fixture
def shop(linesim):
    channel = linesim_channel(linesim)
    friends(channel, 12)
    return channel


@pytest.fixture
def marketer(shop, client):
    user = staff(shop, role=Role.MARKETER)
    client.force_login(user)
    return user


def compose(client, channel, *, messages=TEXT, action="schedule", **extra):
    data = {
        "name": "Weekend",
        "messages": json.dumps(messages),
        "audience_kind": "segment",
        "send_mode": "now",
        "action": action,
        **extra,
    }
    return client.post(reverse("campaign-create", args=[channel.pk]), data)


def test_a_marketer_schedules_a_campaign_that_is_sent_now(
    shop, marketer, client, linesim, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = compose(client, shop)
    assert response.status_code == 302
    c = Campaign.objects.get()
    assert c.state == CampaignState.DONE and c.accepted_count == 12
    page = client.get(reverse("campaign-detail", args=[shop.pk, c.pk]))
    assert b'data-testid="accepted">12<' in page.content


@pytest.mark.parametrize(
    "messages, path, text",
    [
        ([{"type": "text", "text": "x" * 5001}], "messages[0].text", "At most 5000 characters"),
        (TEXT * 6, "messages", "At most 5 item(s)"),
        (
            [
                {
                    "type": "image",
                    "originalContentUrl": "http://shop.example/a.jpg",
                    "previewImageUrl": "https://shop.example/a.jpg",
                }
            ],
            "messages[0].originalContentUrl",
            "https://",
        ),
        (
            [
                {
                    "type": "flex",
                    "altText": "big",
                    "contents": {
                        "type": "bubble",
                        "body": {
                            "type": "box",
                            "layout": "vertical",
                            "contents": [{"type": "text", "text": "y" * 2000}] * 20,
                        },
                    },
                }
            ],
            "messages[0].contents",
            "bytes",
        ),
    ],
)
def test_bad_messages_are_refused_with_the_error_at_the_field(shop, marketer, client, messages, path, text):
    response = compose(client, shop, messages=messages)
    assert response.status_code == 400
    assert text in " ".join(response.context["form"].message_path_errors.get(path, []))
    assert not Campaign.objects.exists()


def test_the_live_check_reports_errors_by_path_and_renders_the_phone(shop, marketer, client):
    response = client.post(
        reverse("campaign-preview", args=[shop.pk]),
        {"messages": json.dumps([{"type": "text", "text": "Hi {name}"}] + TEXT * 5), "personalize": "on"},
    )
    data = response.json()
    assert "messages" in data["errors"] and "Hi Aiko" in data["html"]


def test_an_empty_audience_is_refused_and_nothing_is_saved(shop, marketer, client):
    response = compose(client, shop, audience_kind="list", user_ids_text="nobody\nnot-an-id")
    assert response.status_code == 400
    assert "No valid user IDs" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_time_in_the_past_is_refused(shop, marketer, client):
    past = (timezone.localtime(timezone.now(), shop.tz) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = compose(client, shop, send_mode="later", scheduled_at=past)
    assert response.status_code == 400
    assert "already passed" in response.content.decode()
    assert not Campaign.objects.exists()


def test_a_csv_with_garbage_rows_keeps_the_good_ones_and_reports_the_rest(shop, marketer, client):
    csv = f"user_id\n{user_id(1)}\ngarbage\n{user_id(2)}\n{user_id(1)}\n"
    response = client.post(
        reverse("campaign-reach", args=[shop.pk]), {"audience_kind": "list", "user_ids_text": csv, "name": "x"}
    )
    body = response.content.decode()
    assert "Estimated reach" in body and ">2<" not in body  # count is formatted below
    assert "2 rows were skipped" in body and "garbage" in body and "listed twice" in body


def test_a_scheduled_time_is_read_in_the_channels_time_zone(shop, marketer, client):
    local = timezone.localtime(timezone.now(), shop.tz) + timedelta(days=1)
    compose(client, shop, send_mode="later", scheduled_at=local.strftime("%Y-%m-%dT%H:%M"))
    c = Campaign.objects.get()
    assert c.state == CampaignState.SCHEDULED
    assert timezone.localtime(c.scheduled_at, shop.tz).strftime("%H:%M") == local.strftime("%H:%M")


def test_an_upload_that_is_not_an_image_is_refused(shop, marketer, client):
    fake = io.BytesIO(b"%PDF-1.4 not an image")
    fake.name = "flyer.jpg"
    response = client.post(reverse("campaign-media", args=[shop.pk]), {"kind": "image", "file": fake})
    assert response.status_code == 400
    assert "not an image" in json.dumps(response.json())


def test_an_uploaded_image_gets_a_pillow_preview_served_from_our_url(shop, marketer, client):
    buf = io.BytesIO()
    Image.new("RGB", (1200, 800), (200, 30, 30)).save(buf, "PNG")
    buf.seek(0)
    buf.name = "sale.png"
    data = client.post(reverse("campaign-media", args=[shop.pk]), {"kind": "image", "file": buf}).json()
    preview = client.get(data["previewImageUrl"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    img = Image.open(io.BytesIO(b"".join(preview.streaming_content)))
    assert img.format == "JPEG" and max(img.size) <= 480


def test_marketers_wait_for_an_admin_when_the_channel_requires_approval(shop, marketer, client):
    CampaignSettings.objects.create(channel=shop, require_approval=True)
    compose(
        client,
        shop,
        send_mode="later",
        scheduled_at=(timezone.localtime(timezone.now(), shop.tz) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
    )
    c = Campaign.objects.get()
    assert c.state == CampaignState.PENDING_APPROVAL
    admin = staff(shop, role=Role.ADMIN)
    services.campaign_approve(campaign=c, actor=admin)
    c.refresh_from_db()
    assert c.state == CampaignState.SCHEDULED and c.approved_by == admin


def test_the_quota_guard_blocks_unless_an_admin_overrides(shop, marketer, linesim):
    linesim.config(quota=5)
    c = campaign(shop, created_by=marketer)
    with pytest.raises(services.CampaignInvalid) as err:
        services.campaign_schedule(campaign=c, actor=marketer, when=timezone.now() + timedelta(hours=1))
    assert "quota" in err.value.errors
    admin = staff(shop, role=Role.ADMIN)
    services.campaign_schedule(campaign=c, actor=admin, when=timezone.now() + timedelta(hours=1), override_quota=True)
    c.refresh_from_db()
    assert c.state == CampaignState.SCHEDULED and c.quota_override


def test_a_campaign_can_be_cancelled_before_it_starts(shop, marketer):
    c = campaign(shop, state=CampaignState.SCHEDULED, scheduled_at=timezone.now() + timedelta(hours=1))
    services.campaign_cancel(campaign=c, actor=marketer)
    c.refresh_from_db()
    assert c.state == CampaignState.CANCELLED


def test_the_api_creates_schedules_reads_and_cancels(shop, marketer):
    api = APIClient()
    api.force_authenticate(marketer)
    created = api.post(
        "/api/v1/campaigns/",
        {"channel": shop.pk, "name": "API", "messages": TEXT, "audience_kind": "segment", "audience": {}},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    when = (timezone.now() + timedelta(days=1)).isoformat()
    scheduled = api.post(f"/api/v1/campaigns/{pk}/schedule/", {"scheduled_at": when}, format="json")
    assert scheduled.json()["state"] == "scheduled"
    assert api.get(f"/api/v1/campaigns/{pk}/").json()["estimated_reach"] == 12
    assert api.post(f"/api/v1/campaigns/{pk}/cancel/").json()["state"] == "cancelled"
    bad = api.post(
        "/api/v1/campaigns/",
        {"channel": shop.pk, "name": "x", "messages": TEXT * 6, "audience_kind": "segment"},
        format="json",
    )
    assert bad.status_code == 400 and "messages" in bad.json()


def test_the_pages_render(shop, marketer, client):
    c = campaign(shop)
    for name, args in [
        ("campaigns", [shop.pk]),
        ("campaign-create", [shop.pk]),
        ("campaign-detail", [shop.pk, c.pk]),
        ("campaign-edit", [shop.pk, c.pk]),
        ("campaign-dashboard", [shop.pk]),
        ("campaign-segments", [shop.pk]),
        ("campaign-progress", [shop.pk, c.pk]),
    ]:
        assert client.get(reverse(name, args=args)).status_code == 200, name


# -- stickers and LINE emoji -------------------------------------------------------------------------------


def preview(client, channel, messages):
    return client.post(reverse("campaign-preview", args=[channel.pk]), {"messages": json.dumps(messages)}).json()


def test_a_fresh_composer_shows_no_errors_and_offers_only_lines_stickers(shop, marketer, client):
    page = client.get(reverse("campaign-create", args=[shop.pk]))
    body = page.content.decode()
    assert "must not be empty" not in body and 'data-bound="1"' not in body
    packages = [p["packageId"] for p in page.context["sticker_catalogue"]]
    assert packages == [
        "446",
        "789",
        "1070",
        "6136",
        "6325",
        "6359",
        "6362",
        "6370",
        "6632",
        "8515",
        "8522",
        "8525",
        "11537",
        "11538",
        "11539",
    ]
    assert 'id="sticker-catalogue"' in body and 'id="emoji-catalogue"' in body


def test_a_picked_sticker_is_a_valid_message_shown_as_its_image(shop, marketer, client, linesim):
    sticker = [{"type": "sticker", "packageId": "11537", "stickerId": "52002734"}]
    data = preview(client, shop, sticker)
    assert data["errors"] == {}
    assert stickers.image_url(52002734) in data["html"] and 'alt="Sticker 11537/52002734"' in data["html"]
    line_client(shop).validate("push", sticker)  # linesim (the official SDK's models) accepts it
    response = compose(client, shop, messages=sticker, action="draft")
    assert response.status_code == 302 and Campaign.objects.get().messages == sticker


def test_a_sticker_lines_list_does_not_have_is_refused_at_the_sticker(shop, marketer, client):
    bad = [{"type": "sticker", "packageId": "1", "stickerId": "1"}]
    assert "not one LINE lets bots send" in " ".join(preview(client, shop, bad)["errors"]["messages[0].stickerId"])
    response = compose(client, shop, messages=bad)
    assert response.status_code == 400 and not Campaign.objects.exists()
    assert "messages[0].stickerId" in response.context["form"].message_path_errors
    assert 'data-bound="1"' in response.content.decode()  # the page shows every error after a save attempt


def test_emoji_indices_count_utf16_units_as_line_does(shop, marketer, client, linesim):
    """Text before the emoji holds an emoji outside the BMP (two UTF-16 units) and CJK/Thai (one each)."""
    product = emoji.PRODUCTS[0][0]
    text, emojis = emoji.text_with_emoji("😀 週末セール สวัสดี $ 20% off $!", [(product, "001"), (product, "002")])
    assert [e["index"] for e in emojis] == [16, 26]  # Python string indexes would be 15 and 25
    message = [{"type": "text", "text": text, "emojis": emojis}]
    assert check_messages(message) == []
    line_client(shop).validate("push", message)
    data = preview(client, shop, message)
    assert data["errors"] == {}
    html = data["html"]
    assert html.count('class="line-emoji"') == 2 and emoji.image_url(product, "002") in html
    assert "20% off" in html and "$" not in html.split('class="bubble"')[1].split("</div>")[0]


def test_a_wrong_emoji_index_is_refused_by_us_and_by_line(shop, marketer, linesim):
    product = emoji.PRODUCTS[0][0]
    message = [{"type": "text", "text": "😀 $", "emojis": [{"index": 2, "productId": product, "emojiId": "001"}]}]
    assert [e.code for e in check_messages(message)] == ["emoji_index"]
    with pytest.raises(LineAPIError) as refused:
        line_client(shop).validate("push", message)
    assert refused.value.status == 400


def test_an_emoji_not_on_lines_list_is_flagged(shop, marketer, client):
    message = [{"type": "text", "text": "$", "emojis": [{"index": 0, "productId": "0" * 24, "emojiId": "001"}]}]
    assert "messages[0].emojis[0]" in preview(client, shop, message)["errors"]


def test_textv2_emoji_substitutions_show_in_the_preview(shop, marketer, client):
    product = emoji.PRODUCTS[1][0]
    message = [
        {
            "type": "textV2",
            "text": "Hi {e1} {{ok}}",
            "substitution": {"e1": {"type": "emoji", "productId": product, "emojiId": "003"}},
        }
    ]
    data = preview(client, shop, message)
    assert data["errors"] == {}
    assert emoji.image_url(product, "003") in data["html"] and "{ok}" in data["html"]


def test_a_segment_of_friends_linked_or_not_to_a_customer_account(shop, marketer, client):
    from messaging.campaigns.audiences import AudienceKind, estimate_reach
    from messaging.campaigns.models import Segment

    linked = friends(shop, 3, start=100, customer_id="C-1", linked_at=timezone.now()).filter(customer_id="C-1")
    assert linked.count() == 3
    for name, choice in (("Members", "yes"), ("Guests", "no")):
        response = client.post(reverse("campaign-segments", args=[shop.pk]), {"name": name, "linked": choice})
        assert response.status_code == 302

    reach = {
        s.name: estimate_reach(shop, AudienceKind.SEGMENT, {"include_segments": [s.pk]}).count
        for s in Segment.objects.filter(channel=shop)
    }
    assert reach == {"Members": 3, "Guests": 12}
    page = client.get(reverse("campaign-segments", args=[shop.pk])).content.decode()
    assert "Linked to a customer account" in page


def test_the_friends_api_filters_and_shows_the_linked_customer(shop, marketer):
    friends(shop, 2, start=200, customer_id="C-9", linked_at=timezone.now())
    api = APIClient()
    api.force_authenticate(marketer)

    rows = api.get("/api/v1/friends/", {"channel": shop.pk, "linked": "true"}).json()["results"]
    assert {r["customer_id"] for r in rows} == {"C-9"} and len(rows) == 2
    assert len(api.get("/api/v1/friends/", {"channel": shop.pk, "linked": "false"}).json()["results"]) == 12
