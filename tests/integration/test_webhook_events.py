"""Stored webhook events are processed once, in order, into friends, groups, the log and the archive."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.tests.factories import ChannelFactory
from lineapi import Content, LineAPIError, LineClient, Profile, SendResult, SentMessage
from messaging.models import AutoReplyRule, Conversation, FollowEvent, Friend, Greeting, Group, Message, WebhookEvent
from messaging.webhooks import processing, registry
from tests.fixtures import webhooks as fx

pytestmark = pytest.mark.django_db


class FakeLine:
    """Stands in for LINE's answers by patching lineapi.LineClient; records what the app asked."""

    def __init__(self):
        self.calls: list[tuple] = []
        self.content: dict[str, list] = {}
        self.profile_name = "Mei Lin"

    def install(self, monkeypatch):
        fake = self

        def reply(client, token, messages, **kw):
            fake.calls.append(("reply", token, messages))
            return SendResult("req-reply", "req-reply", tuple(SentMessage(f"9{i:017d}") for i in range(len(messages))))

        def push(client, to, messages, **kw):
            fake.calls.append(("push", to, messages))
            return SendResult("req-push", "req-push", tuple(SentMessage(f"8{i:017d}") for i in range(len(messages))))

        def get_profile(client, user_id):
            fake.calls.append(("profile", user_id))
            return Profile(user_id, fake.profile_name, "https://profile.line-scdn.net/abc", "Hello", "zh-TW")

        def get_content(client, message_id, stream_to=None):
            fake.calls.append(("content", message_id))
            answers = fake.content.get(message_id) or [(b"\x89PNG fake image", "image/png")]
            data, ctype = answers.pop(0) if len(answers) > 1 else answers[0]
            if data is None:
                return Content(202, b"", None, 0, ready=False)
            if isinstance(data, Exception):
                raise data
            stream_to.write(data)
            return Content(200, b"", ctype, len(data))

        def group_summary(client, group_id):
            return {"groupId": group_id, "groupName": "Regulars", "pictureUrl": "https://example.com/g.png"}

        monkeypatch.setattr(LineClient, "reply", reply)
        monkeypatch.setattr(LineClient, "push", push)
        monkeypatch.setattr(LineClient, "get_profile", get_profile)
        monkeypatch.setattr(LineClient, "get_content", get_content)
        monkeypatch.setattr(LineClient, "get_group_summary", group_summary)
        monkeypatch.setattr(LineClient, "get_group_member_count", lambda c, g: 5)
        monkeypatch.setattr(LineClient, "get_room_member_count", lambda c, g: 3)
        return self

    def sent(self, kind):
        return [c for c in self.calls if c[0] == kind]


@pytest.fixture
def line(monkeypatch):
    return FakeLine().install(monkeypatch)


@pytest.fixture
def channel():
    return ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)


@pytest.fixture
def deliver(client, channel, django_capture_on_commit_callbacks):
    """Post fixtures to the webhook, then let the (eager) tasks run as a worker would."""

    def post(*names_or_events):
        for item in names_or_events:
            events = fx.events(item) if isinstance(item, str) else item
            with django_capture_on_commit_callbacks(execute=True):
                assert fx.post(client, channel, events).status_code == 200

    return post


def friend():
    return Friend.objects.get(user_id=fx.USER_ID)


@pytest.mark.parametrize("name", [n for n in fx.NAMES if n != "unknown_type"])
def test_every_event_type_is_handled_without_error(deliver, line, name):
    deliver(name)

    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}
    assert all(e.attempts == 1 and e.processed_at for e in WebhookEvent.objects.all())


def test_an_unknown_event_type_is_kept_as_unknown_without_error(deliver, line):
    deliver("unknown_type")

    event = WebhookEvent.objects.get()
    assert event.status == WebhookEvent.Status.UNKNOWN
    assert event.last_error == ""
    assert event.payload["somethingNew"] == {"value": 1}


def test_a_text_message_is_logged_with_its_emojis_and_mentions_and_the_friend_is_known(deliver, line):
    deliver("message_text")

    message = Message.objects.get()
    assert message.text.startswith("Hello, I ordered")
    assert message.payload["emojis"][0]["productId"] == "5ac1bfd5040ab15980c9b435"
    assert message.payload["mention"]["mentionees"][0]["index"] == 36
    assert (message.direction, message.sender, message.line_message_id) == ("in", "friend", "468789577898262530")
    conversation = message.conversation
    assert conversation.unread_count == 1
    assert conversation.last_message_preview.startswith("Hello")
    assert conversation.reply_token == fx.events("message_text")[0]["replyToken"]
    f = friend()
    assert f.display_name == "Mei Lin" and f.language == "zh-TW" and f.profile_fetched_at
    assert f.first_contact_at == f.last_contact_at == message.sent_at


def test_the_same_event_posted_twice_and_redelivered_is_handled_once(deliver, line):
    events = fx.events("message_text")
    redelivered = [dict(events[0], deliveryContext={"isRedelivery": True})]

    deliver(events, events, redelivered)
    processing.rerun(WebhookEvent.objects.get())  # an admin re-runs it as well

    assert Message.objects.count() == 1
    assert Conversation.objects.get().unread_count == 1


def test_an_image_set_is_archived_into_our_storage(deliver, line):
    line.content["468789577898262532"] = [(b"first-image", "image/jpeg")]
    deliver("message_image_set")

    images = list(Message.objects.order_by("sent_at"))
    assert [m.payload["imageSet"]["index"] for m in images] == [1, 2]
    assert all(m.content_status == "ready" for m in images)
    assert images[0].content_type == "image/jpeg" and images[0].content_size == len(b"first-image")
    with default_storage.open(images[0].content.name) as fh:
        assert fh.read() == b"first-image"


def test_a_video_is_archived_once_line_has_finished_preparing_it(deliver, line):
    line.content["468789577898262534"] = [(None, None), (None, None), (b"mp4-bytes", "video/mp4")]

    deliver("message_video")

    video = Message.objects.get()
    assert video.content_status == "ready" and video.content_type == "video/mp4"
    assert len(line.sent("content")) == 3


def test_content_line_no_longer_has_is_marked_gone(deliver, line):
    line.content["468789577898262536"] = [(LineAPIError("not_found", "Not found", status=404), None)]

    deliver("message_file")

    assert Message.objects.get().content_status == "gone"


def test_unsend_makes_the_message_unviewable_and_deletes_its_archived_content(deliver, line, client):
    deliver("message_image")
    image = Message.objects.get()
    path = image.content.name
    assert default_storage.exists(path)

    deliver("unsend")

    image.refresh_from_db()
    assert image.is_unsent and image.payload == {"id": "468789577898262531", "type": "image"}
    assert not image.content and not default_storage.exists(path)
    raw = WebhookEvent.objects.get(type="message").payload
    assert raw["message"] == {"id": "468789577898262531", "type": "image"}


def test_an_unsend_arriving_before_its_message_still_hides_it(deliver, line):
    text = fx.events("message_text")[0]
    unsend = fx.events("unsend")[0]
    unsend["unsend"]["messageId"] = text["message"]["id"]
    unsend["timestamp"] = text["timestamp"] + 5000

    deliver([unsend], [text])

    message = Message.objects.get()
    assert message.is_unsent and message.text == ""


def test_an_edited_message_shows_the_newest_text(deliver, line):
    deliver("message_group_text", "message_edited")

    assert Message.objects.get(direction="in").text == "Hi everyone (edited)"


def test_follow_unfollow_and_unblock_are_kept_as_history_and_state(deliver, line):
    deliver("follow")
    assert friend().is_following and friend().followed_at

    deliver("unfollow")
    assert not friend().is_following and friend().blocked_at

    unblocked = fx.events("follow_unblocked")
    unblocked[0]["timestamp"] = fx.events("unfollow")[0]["timestamp"] + 60_000
    deliver(unblocked)
    f = friend()
    assert f.is_following and f.unblocked_at
    assert list(f.follow_events.order_by("at").values_list("kind", flat=True)) == ["followed", "blocked", "unblocked"]
    assert list(Message.objects.order_by("sent_at").values_list("type", flat=True)) == [
        "follow",
        "unfollow",
        "unblocked",
    ]


def test_a_late_follow_never_undoes_a_newer_block(deliver, line):
    deliver("unfollow", "follow")  # the follow happened earlier but arrived later

    assert not friend().is_following
    assert FollowEvent.objects.count() == 2


def test_a_new_friend_is_greeted_by_name_with_the_reply_token(deliver, line, channel):
    Greeting.objects.create(channel=channel, messages=[{"type": "text", "text": "Welcome, {name}!"}])

    deliver("follow")

    [(kind, token, messages)] = line.sent("reply")
    assert token == fx.events("follow")[0]["replyToken"]
    assert messages == [{"type": "text", "text": "Welcome, Mei Lin!"}]
    greeting = Message.objects.get(sender="greeting")
    assert (greeting.via, greeting.delivery, greeting.line_request_id) == ("reply", "sent", "req-reply")
    assert Conversation.objects.get().reply_token == ""  # used up


def test_an_unblocking_friend_is_not_greeted_again_by_default(deliver, line, channel):
    Greeting.objects.create(channel=channel, messages=[{"type": "text", "text": "Welcome!"}])

    deliver("follow_unblocked")

    assert not line.sent("reply")


def test_a_keyword_auto_reply_answers_with_the_reply_token_and_shows_in_the_thread(deliver, line, channel):
    AutoReplyRule.objects.create(
        channel=channel,
        name="Orders",
        match="contains",
        keyword="ordered",
        messages=[
            {"type": "text", "text": "We will check your order."},
            {"type": "sticker", "packageId": "446", "stickerId": "1989"},
        ],
    )
    AutoReplyRule.objects.create(
        channel=channel,
        name="Expired",
        match="contains",
        keyword="hello",
        messages=[{"type": "text", "text": "never"}],
        active_until=timezone.now() - timedelta(days=400 * 3),
    )

    deliver("message_text")

    [(kind, token, messages)] = line.sent("reply")
    assert [m.get("text") for m in messages] == ["We will check your order.", None]
    assert Message.objects.filter(sender="auto_reply", delivery="sent", via="reply").count() == 2


@pytest.mark.parametrize(
    "match,keyword,fires",
    [
        ("exact", "hello", False),
        ("exact", "HELLO, I ORDERED $ 2 BOXES, @SALES CAN YOU CHECK?", True),
        ("contains", "boxes", True),
        ("regex", r"\d+ boxes", True),
        ("regex", r"^boxes", False),
    ],
)
def test_keyword_rules_match_exactly_by_containment_or_by_regex(deliver, line, channel, match, keyword, fires):
    AutoReplyRule.objects.create(
        channel=channel, name="r", match=match, keyword=keyword, messages=[{"type": "text", "text": "ok"}]
    )

    deliver("message_text")

    assert bool(line.sent("reply")) is fires


def test_groups_and_rooms_keep_their_summary_and_members(deliver, line):
    deliver("join", "member_joined", "member_left", "message_group_text")

    group = Group.objects.get(group_id=fx.GROUP_ID)
    assert group.is_member and group.name == "Regulars" and group.member_count == 5
    assert dict(group.members.values_list("user_id", "is_member")) == {
        fx.USER_ID: True,
        "U0c8b7e6d5f4a3b2c1d0e9f8a7b6c5d4e": False,
    }
    said = Message.objects.get(direction="in")
    assert said.conversation.group == group and said.sender_user_id == fx.USER_ID

    deliver("leave")
    group.refresh_from_db()
    assert not group.is_member and group.left_at


def test_postbacks_keep_datetime_picker_and_rich_menu_switch_results(deliver, line):
    deliver("postback_datetime", "postback_richmenu_switch")

    lines = {m.text: m.payload for m in Message.objects.filter(type="postback")}
    assert lines["action=reserve"]["params"] == {"datetime": "2025-01-20T18:30"}
    assert lines["richmenu-changed-to-b"]["params"]["status"] == "SUCCESS"


def test_account_link_events_reach_handlers_other_apps_registered(deliver, line):
    seen = []

    def on_account_link(event):
        seen.append(event.payload["link"]["nonce"])

    registry.register("accountLink", on_account_link)
    try:
        deliver("account_link", "account_link_failed")
    finally:
        registry.unregister("accountLink", on_account_link)

    assert sorted(seen) == ["xxxxxxxxxxxxxxx", "yyyyyyyyyyyyyyy"]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"done"}


def test_events_of_one_source_are_handled_in_timestamp_order(deliver, line):
    order = []

    def spy(event):
        order.append(event.payload["message"]["id"])

    first, second = fx.events("message_text")[0], fx.events("message_sticker")[0]
    registry.register("message", spy)
    try:
        deliver([second, first])  # arrive in the wrong order, in one body
    finally:
        registry.unregister("message", spy)

    assert order == [first["message"]["id"], second["message"]["id"]]


def test_a_standby_event_is_logged_but_its_chat_is_left_alone(deliver, line, channel):
    AutoReplyRule.objects.create(
        channel=channel, name="all", match="contains", keyword="hello", messages=[{"type": "text", "text": "hi"}]
    )
    deliver("standby_message")

    assert Message.objects.get(direction="in").text == "standby hello"
    assert not line.sent("reply")


def test_a_failing_event_records_its_reason_backs_off_and_succeeds_when_re_run(deliver, line):
    def broken(event):
        raise RuntimeError("the CRM is down")

    registry.register("postback", broken)
    try:
        deliver("postback")
    finally:
        registry.unregister("postback", broken)

    event = WebhookEvent.objects.get()
    assert event.status == "failed" and "the CRM is down" in event.last_error
    assert event.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert not Message.objects.exists()  # nothing half-done

    assert processing.sweep() == []  # not due yet
    WebhookEvent.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # time passes
    due = processing.sweep()
    assert due == [(event.channel_id, event.source_id)]
    processing.process_source(*due[0])

    event.refresh_from_db()
    assert event.status == "done" and event.attempts == 2
    assert Message.objects.filter(type="postback").count() == 1


def test_the_sweeper_requeues_events_a_lost_task_left_pending(client, channel, line):
    fx.post(client, channel, fx.events("message_text"))  # on_commit never ran: the task was lost
    event = WebhookEvent.objects.get()
    assert event.status == "pending"

    from messaging.tasks import sweep_webhook_events

    WebhookEvent.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    sweep_webhook_events()

    event.refresh_from_db()
    assert event.status == "done"
    assert Message.objects.count() == 1


def test_an_event_whose_worker_died_is_released_and_processed_once(client, channel, line):
    fx.post(client, channel, fx.events("message_text"))
    claimed = processing.claim_next(channel.pk, fx.USER_ID)  # a worker took it, then died

    assert processing.claim_next(channel.pk, fx.USER_ID) is None  # nobody else takes a leased event
    processing.sweep(now=claimed.locked_until + timedelta(seconds=1))
    processing.process_source(channel.pk, fx.USER_ID)
    processing.run(claimed)  # the "dead" worker wakes up after all: its run is rolled back

    assert WebhookEvent.objects.get().status == "done"
    assert Message.objects.count() == 1
