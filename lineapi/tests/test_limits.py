"""Each documented LINE limit: one message that passes, one that fails at the expected path and code."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from lineapi.limits import (
    MESSAGES,
    FieldError,
    check_alias_id,
    check_custom_aggregation_unit,
    check_messages,
    check_multicast_recipients,
    check_rich_menu,
    check_rich_menu_image,
    json_size,
)

HTTPS = "https://example.com/a.png"


def msg(check: Callable[..., list[FieldError]] = check_messages, *args: Any) -> set[tuple[str, str]]:
    return {(e.path, e.code) for e in check(*args)}


def action(label: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "message", "label": label, "text": "hi", **extra}


def buttons(**template: Any) -> dict[str, Any]:
    base = {"type": "buttons", "text": "Pick one", "actions": [action()]}
    return {"type": "template", "altText": "alt", "template": {**base, **template}}


def column(**extra: Any) -> dict[str, Any]:
    return {"text": "Column", "actions": [action()], **extra}


def carousel(columns: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "template", "altText": "alt", "template": {"type": "carousel", "columns": columns}}


def image_carousel(columns: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "template", "altText": "alt", "template": {"type": "image_carousel", "columns": columns}}


def bubble(size: str = "mega", filler: int = 0, button_label: str = "Buy") -> dict[str, Any]:
    contents: list[dict[str, Any]] = [{"type": "text", "text": "x" * filler}] if filler else []
    contents.append({"type": "button", "action": {"type": "uri", "label": button_label, "uri": "https://a"}})
    return {
        "type": "bubble",
        "size": size,
        "hero": {"type": "image", "url": HTTPS},
        "body": {"type": "box", "layout": "vertical", "contents": contents},
    }


def flex(contents: dict[str, Any], alt: str = "alt") -> dict[str, Any]:
    return {"type": "flex", "altText": alt, "contents": contents}


def quick(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "text", "text": "q", "quickReply": {"items": items}}


def qitem(act: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "action", "action": act or action()}


def imagemap(width: int = 1040, actions: int = 1, area: dict[str, int] | None = None) -> dict[str, Any]:
    area = area or {"x": 0, "y": 0, "width": 520, "height": 520}
    return {
        "type": "imagemap",
        "baseUrl": "https://example.com/map",
        "altText": "map",
        "baseSize": {"width": width, "height": 1040},
        "actions": [{"type": "message", "text": "hi", "area": area}] * actions,
    }


def text_v2(text: str, substitution: dict[str, Any]) -> dict[str, Any]:
    return {"type": "textV2", "text": text, "substitution": substitution}


MENTION = {"type": "mention", "mentionee": {"type": "user", "userId": "U" + "a" * 32}}
EMOJI = {"type": "emoji", "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "002"}

# (rule, a message that passes, a message that fails, expected (path, code) for the failure)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, str]]] = [
    (
        "text length in UTF-16 units",
        {"type": "text", "text": "😀" * 2500},
        {"type": "text", "text": "😀" * 2500 + "a"},
        ("messages[0].text", "too_long"),
    ),
    ("text not empty", {"type": "text", "text": "a"}, {"type": "text", "text": ""}, ("messages[0].text", "blank")),
    (
        "emoji count",
        {
            "type": "text",
            "text": "$" * 20,
            "emojis": [{"index": i, "productId": "p", "emojiId": "001"} for i in range(20)],
        },
        {
            "type": "text",
            "text": "$" * 21,
            "emojis": [{"index": i, "productId": "p", "emojiId": "001"} for i in range(21)],
        },
        ("messages[0].emojis", "too_many"),
    ),
    (
        "emoji index on a $ (UTF-16)",
        {"type": "text", "text": "😀$", "emojis": [{"index": 2, "productId": "p", "emojiId": "001"}]},
        {"type": "text", "text": "😀$", "emojis": [{"index": 1, "productId": "p", "emojiId": "001"}]},
        ("messages[0].emojis[0].index", "emoji_index"),
    ),
    (
        "textV2 substitution key",
        text_v2("Hi {user_1}", {"user_1": MENTION}),
        text_v2("Hi {bad-key}", {"bad-key": MENTION}),
        ("messages[0].substitution.bad-key", "substitution_key"),
    ),
    (
        "textV2 at most 100 substitutions",
        text_v2("{{literal}}", {f"e{i}": EMOJI for i in range(20)} | {f"m{i}": MENTION for i in range(20)}),
        text_v2("x", {f"k{i}": {"type": "emoji", "productId": "p", "emojiId": "1"} for i in range(101)}),
        ("messages[0].substitution", "too_many"),
    ),
    (
        "textV2 at most 20 mentions",
        text_v2("x", {f"m{i}": MENTION for i in range(20)}),
        text_v2("x", {f"m{i}": MENTION for i in range(21)}),
        ("messages[0].substitution", "too_many_mentions"),
    ),
    (
        "textV2 at most 20 emojis",
        text_v2("x", {f"e{i}": EMOJI for i in range(20)}),
        text_v2("x", {f"e{i}": EMOJI for i in range(21)}),
        ("messages[0].substitution", "too_many_emojis"),
    ),
    (
        "textV2 placeholders are defined",
        text_v2("Hi {a} {{b}}", {"a": MENTION}),
        text_v2("Hi {a} {b}", {"a": MENTION}),
        ("messages[0].text", "substitution_undefined"),
    ),
    (
        "sticker ids present",
        {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        {"type": "sticker", "packageId": "446"},
        ("messages[0].stickerId", "required"),
    ),
    (
        "image URL is HTTPS",
        {"type": "image", "originalContentUrl": HTTPS, "previewImageUrl": HTTPS},
        {"type": "image", "originalContentUrl": "http://example.com/a.png", "previewImageUrl": HTTPS},
        ("messages[0].originalContentUrl", "not_https"),
    ),
    (
        "image URL at most 2000",
        {"type": "image", "originalContentUrl": "https://e.com/" + "a" * 1986, "previewImageUrl": HTTPS},
        {"type": "image", "originalContentUrl": "https://e.com/" + "a" * 1987, "previewImageUrl": HTTPS},
        ("messages[0].originalContentUrl", "too_long"),
    ),
    (
        "video preview is HTTPS",
        {"type": "video", "originalContentUrl": HTTPS, "previewImageUrl": HTTPS},
        {"type": "video", "originalContentUrl": HTTPS, "previewImageUrl": "ftp://e.com/p.png"},
        ("messages[0].previewImageUrl", "not_https"),
    ),
    (
        "audio duration required",
        {"type": "audio", "originalContentUrl": HTTPS, "duration": 60000},
        {"type": "audio", "originalContentUrl": HTTPS},
        ("messages[0].duration", "required"),
    ),
    (
        "location title at most 100",
        {"type": "location", "title": "t" * 100, "address": "a", "latitude": 35.6, "longitude": 139.7},
        {"type": "location", "title": "t" * 101, "address": "a", "latitude": 35.6, "longitude": 139.7},
        ("messages[0].title", "too_long"),
    ),
    (
        "location address at most 100",
        {"type": "location", "title": "t", "address": "a" * 100, "latitude": 0, "longitude": 0},
        {"type": "location", "title": "t", "address": "a" * 101, "latitude": 0, "longitude": 0},
        ("messages[0].address", "too_long"),
    ),
    ("imagemap base width 1040", imagemap(), imagemap(width=1000), ("messages[0].baseSize.width", "must_equal")),
    ("imagemap at most 50 actions", imagemap(actions=50), imagemap(actions=51), ("messages[0].actions", "too_many")),
    (
        "imagemap areas inside the image",
        imagemap(),
        imagemap(area={"x": 600, "y": 0, "width": 500, "height": 10}),
        ("messages[0].actions[0].area", "out_of_bounds"),
    ),
    ("template altText required", buttons(), {**buttons(), "altText": None}, ("messages[0].altText", "required")),
    (
        "template altText at most 1500",
        {**buttons(), "altText": "a" * 1500},
        {**buttons(), "altText": "a" * 1501},
        ("messages[0].altText", "too_long"),
    ),
    (
        "buttons title at most 40",
        buttons(title="t" * 40, text="x"),
        buttons(title="t" * 41, text="x"),
        ("messages[0].template.title", "too_long"),
    ),
    (
        "buttons text at most 160",
        buttons(text="x" * 160),
        buttons(text="x" * 161),
        ("messages[0].template.text", "too_long"),
    ),
    (
        "buttons text at most 60 with a title",
        buttons(title="t", text="x" * 60),
        buttons(title="t", text="x" * 61),
        ("messages[0].template.text", "too_long"),
    ),
    (
        "buttons text at most 60 with an image",
        buttons(thumbnailImageUrl=HTTPS, text="x" * 60),
        buttons(thumbnailImageUrl=HTTPS, text="x" * 61),
        ("messages[0].template.text", "too_long"),
    ),
    (
        "buttons at most 4 actions",
        buttons(actions=[action()] * 4),
        buttons(actions=[action()] * 5),
        ("messages[0].template.actions", "too_many"),
    ),
    (
        "buttons at least 1 action",
        buttons(actions=[action()]),
        buttons(actions=[]),
        ("messages[0].template.actions", "too_few"),
    ),
    (
        "confirm text at most 240",
        {
            "type": "template",
            "altText": "a",
            "template": {"type": "confirm", "text": "x" * 240, "actions": [action(), action()]},
        },
        {
            "type": "template",
            "altText": "a",
            "template": {"type": "confirm", "text": "x" * 241, "actions": [action(), action()]},
        },
        ("messages[0].template.text", "too_long"),
    ),
    (
        "confirm exactly 2 actions",
        {"type": "template", "altText": "a", "template": {"type": "confirm", "text": "?", "actions": [action()] * 2}},
        {"type": "template", "altText": "a", "template": {"type": "confirm", "text": "?", "actions": [action()] * 3}},
        ("messages[0].template.actions", "count_exact"),
    ),
    (
        "carousel at most 10 columns",
        carousel([column()] * 10),
        carousel([column()] * 11),
        ("messages[0].template.columns", "too_many"),
    ),
    (
        "carousel column title at most 40",
        carousel([column(title="t" * 40, text="x")]),
        carousel([column(title="t" * 41, text="x")]),
        ("messages[0].template.columns[0].title", "too_long"),
    ),
    (
        "carousel column text at most 120",
        carousel([column(text="x" * 120)]),
        carousel([column(text="x" * 121)]),
        ("messages[0].template.columns[0].text", "too_long"),
    ),
    (
        "carousel column text at most 60 with an image",
        carousel([column(thumbnailImageUrl=HTTPS, text="x" * 60)]),
        carousel([column(thumbnailImageUrl=HTTPS, text="x" * 61)]),
        ("messages[0].template.columns[0].text", "too_long"),
    ),
    (
        "carousel at most 3 actions per column",
        carousel([column(actions=[action()] * 3)]),
        carousel([column(actions=[action()] * 4)]),
        ("messages[0].template.columns[0].actions", "too_many"),
    ),
    (
        "carousel columns have the same action count",
        carousel([column(actions=[action()] * 2), column(actions=[action()] * 2)]),
        carousel([column(actions=[action()] * 2), column(actions=[action()])]),
        ("messages[0].template.columns[1].actions", "uneven_actions"),
    ),
    (
        "image carousel at most 10 columns",
        image_carousel([{"imageUrl": HTTPS, "action": action()}] * 10),
        image_carousel([{"imageUrl": HTTPS, "action": action()}] * 11),
        ("messages[0].template.columns", "too_many"),
    ),
    (
        "image carousel label at most 12",
        image_carousel([{"imageUrl": HTTPS, "action": action("l" * 12)}]),
        image_carousel([{"imageUrl": HTTPS, "action": action("l" * 13)}]),
        ("messages[0].template.columns[0].action.label", "too_long"),
    ),
    (
        "image carousel one action each",
        image_carousel([{"imageUrl": HTTPS, "action": action()}]),
        image_carousel([{"imageUrl": HTTPS}]),
        ("messages[0].template.columns[0].action", "required"),
    ),
    (
        "flex altText at most 1500",
        flex(bubble(), "a" * 1500),
        flex(bubble(), "a" * 1501),
        ("messages[0].altText", "too_long"),
    ),
    (
        "flex bubble at most 30 KB",
        flex(bubble(filler=29_000)),
        flex(bubble(filler=30_000)),
        ("messages[0].contents", "json_too_large"),
    ),
    (
        "flex carousel at most 12 bubbles",
        flex({"type": "carousel", "contents": [bubble()] * 12}),
        flex({"type": "carousel", "contents": [bubble()] * 13}),
        ("messages[0].contents.contents", "too_many"),
    ),
    (
        "flex carousel at most 50 KB",
        flex({"type": "carousel", "contents": [bubble(filler=24_000)] * 2}),
        flex({"type": "carousel", "contents": [bubble(filler=26_000)] * 2}),
        ("messages[0].contents", "json_too_large"),
    ),
    (
        "flex carousel bubbles share a size",
        flex({"type": "carousel", "contents": [bubble("kilo"), bubble("kilo")]}),
        flex({"type": "carousel", "contents": [bubble("kilo"), bubble("mega")]}),
        ("messages[0].contents.contents", "mixed_bubble_sizes"),
    ),
    (
        "flex button label at most 40",
        flex(bubble(button_label="b" * 40)),
        flex(bubble(button_label="b" * 41)),
        ("messages[0].contents.body.contents[0].action.label", "too_long"),
    ),
    (
        "flex image URL is HTTPS",
        flex(bubble()),
        flex({**bubble(), "hero": {"type": "image", "url": "http://a/b"}}),
        ("messages[0].contents.hero.url", "not_https"),
    ),
    (
        "template action label at most 20",
        buttons(actions=[action("l" * 20)]),
        buttons(actions=[action("l" * 21)]),
        ("messages[0].template.actions[0].label", "too_long"),
    ),
    (
        "template action label required",
        buttons(actions=[action("l")]),
        buttons(actions=[{"type": "message", "text": "hi"}]),
        ("messages[0].template.actions[0].label", "required"),
    ),
    (
        "quick reply label at most 20",
        quick([qitem(action("l" * 20))]),
        quick([qitem(action("l" * 21))]),
        ("messages[0].quickReply.items[0].action.label", "too_long"),
    ),
    (
        "postback data at most 300",
        buttons(actions=[{"type": "postback", "label": "p", "data": "d" * 300}]),
        buttons(actions=[{"type": "postback", "label": "p", "data": "d" * 301}]),
        ("messages[0].template.actions[0].data", "too_long"),
    ),
    (
        "postback displayText at most 300",
        buttons(actions=[{"type": "postback", "label": "p", "data": "d", "displayText": "t" * 300}]),
        buttons(actions=[{"type": "postback", "label": "p", "data": "d", "displayText": "t" * 301}]),
        ("messages[0].template.actions[0].displayText", "too_long"),
    ),
    (
        "postback text and displayText exclusive",
        buttons(actions=[{"type": "postback", "label": "p", "data": "d", "text": "t"}]),
        buttons(actions=[{"type": "postback", "label": "p", "data": "d", "text": "t", "displayText": "t"}]),
        ("messages[0].template.actions[0].text", "conflict"),
    ),
    (
        "message action text at most 300",
        buttons(actions=[action(text="t" * 300)]),
        buttons(actions=[action(text="t" * 301)]),
        ("messages[0].template.actions[0].text", "too_long"),
    ),
    (
        "uri at most 1000",
        buttons(actions=[{"type": "uri", "label": "u", "uri": "https://e.com/" + "a" * 986}]),
        buttons(actions=[{"type": "uri", "label": "u", "uri": "https://e.com/" + "a" * 987}]),
        ("messages[0].template.actions[0].uri", "too_long"),
    ),
    (
        "uri schemes http/https/line/tel",
        buttons(actions=[{"type": "uri", "label": "u", "uri": "tel:0312345678"}]),
        buttons(actions=[{"type": "uri", "label": "u", "uri": "javascript:alert(1)"}]),
        ("messages[0].template.actions[0].uri", "bad_scheme"),
    ),
    (
        "datetimepicker mode",
        buttons(
            actions=[{"type": "datetimepicker", "label": "d", "data": "x", "mode": "date", "initial": "2025-01-01"}]
        ),
        buttons(actions=[{"type": "datetimepicker", "label": "d", "data": "x", "mode": "week"}]),
        ("messages[0].template.actions[0].mode", "invalid_choice"),
    ),
    (
        "datetimepicker value format",
        buttons(
            actions=[
                {"type": "datetimepicker", "label": "d", "data": "x", "mode": "datetime", "min": "2025-01-01T00:00"}
            ]
        ),
        buttons(
            actions=[{"type": "datetimepicker", "label": "d", "data": "x", "mode": "datetime", "min": "2025-01-01"}]
        ),
        ("messages[0].template.actions[0].min", "datetime_format"),
    ),
    (
        "quick reply at most 13 items",
        quick([qitem()] * 13),
        quick([qitem()] * 14),
        ("messages[0].quickReply.items", "too_many"),
    ),
    (
        "quick reply allows camera but not richmenuswitch",
        quick([qitem({"type": "camera", "label": "Camera"})]),
        quick([qitem({"type": "richmenuswitch", "label": "m", "richMenuAliasId": "a", "data": "d"})]),
        ("messages[0].quickReply.items[0].action.type", "action_not_allowed"),
    ),
    (
        "camera only in quick replies",
        quick([qitem({"type": "location", "label": "Where"})]),
        buttons(actions=[{"type": "camera", "label": "Camera"}]),
        ("messages[0].template.actions[0].type", "action_not_allowed"),
    ),
    (
        "quick reply icon is HTTPS",
        quick([{**qitem(), "imageUrl": HTTPS}]),
        quick([{**qitem(), "imageUrl": "http://e.com/i.png"}]),
        ("messages[0].quickReply.items[0].imageUrl", "not_https"),
    ),
    (
        "sender name at most 20",
        {"type": "text", "text": "a", "sender": {"name": "n" * 20, "iconUrl": HTTPS}},
        {"type": "text", "text": "a", "sender": {"name": "n" * 21}},
        ("messages[0].sender.name", "too_long"),
    ),
    (
        "sender icon is HTTPS",
        {"type": "text", "text": "a", "sender": {"iconUrl": HTTPS}},
        {"type": "text", "text": "a", "sender": {"iconUrl": "http://e.com/i.png"}},
        ("messages[0].sender.iconUrl", "not_https"),
    ),
    (
        "coupon needs couponId",
        {"type": "coupon", "couponId": "01JABCDEF"},
        {"type": "coupon"},
        ("messages[0].couponId", "required"),
    ),
    (
        "unknown message types",
        {"type": "text", "text": "a"},
        {"type": "hologram"},
        ("messages[0].type", "unknown_type"),
    ),
]


@pytest.mark.parametrize(("rule", "good", "bad", "expected"), CASES, ids=[c[0] for c in CASES])
def test_message_rule(rule: str, good: dict[str, Any], bad: dict[str, Any], expected: tuple[str, str]) -> None:
    assert check_messages([copy.deepcopy(good)]) == [], rule
    assert expected in msg(check_messages, [bad]), rule


def test_one_to_five_messages() -> None:
    one = {"type": "text", "text": "a"}
    assert check_messages([one] * 5) == []
    assert ("messages", "too_many") in msg(check_messages, [one] * 6)
    assert ("messages", "too_few") in msg(check_messages, [])
    assert ("messages", "not_list") in msg(check_messages, {"type": "text"})


def test_errors_point_into_the_right_message() -> None:
    errors = check_messages([{"type": "text", "text": "ok"}, buttons(actions=[action("l" * 21)])])
    assert [(e.path, e.code) for e in errors] == [("messages[1].template.actions[0].label", "too_long")]
    assert errors[0].params == {"max": 20, "length": 21}
    assert errors[0].message == "At most 20 characters are allowed (this has 21)."


def test_every_error_message_comes_from_the_catalogue() -> None:
    bad = [bad for _, _, bad, _ in CASES]
    errors = [e for i in range(0, len(bad), 5) for e in check_messages(bad[i : i + 5])]
    assert errors
    for error in errors:
        assert error.message == MESSAGES[error.code].format(**error.params)


def test_flex_size_is_measured_as_compact_utf8_json() -> None:
    assert json_size({"a": "é"}) == len('{"a":"é"}'.encode())


# -- multicast recipients -------------------------------------------------------------------


def uid(i: int) -> str:
    return f"U{i:032x}"


def test_multicast_recipients() -> None:
    assert check_multicast_recipients([uid(i) for i in range(500)]) == []
    assert ("to", "too_many") in msg(check_multicast_recipients, [uid(i) for i in range(501)])
    assert ("to", "too_few") in msg(check_multicast_recipients, [])
    assert ("to[1]", "invalid_user_id") in msg(check_multicast_recipients, [uid(1), "C" + "0" * 32])
    assert ("to[0]", "invalid_user_id") in msg(check_multicast_recipients, ["U" + "A" * 32])
    assert ("to[2]", "duplicate") in msg(check_multicast_recipients, [uid(1), uid(2), uid(1)])


# -- rich menus ---------------------------------------------------------------------------------


def menu(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "size": {"width": 2500, "height": 1686},
        "selected": False,
        "name": "Main",
        "chatBarText": "Menu",
        "areas": [
            {"bounds": {"x": 0, "y": 0, "width": 200, "height": 200}, "action": {"type": "postback", "data": "a=1"}}
        ],
    }
    base.update(changes)
    return base


def area(action: dict[str, Any], **bounds: int) -> dict[str, Any]:
    return {"bounds": {"x": 0, "y": 0, "width": 100, "height": 100, **bounds}, "action": action}


SWITCH = {"type": "richmenuswitch", "richMenuAliasId": "menu-b", "data": "switch"}

MENU_CASES = [
    (
        "width at least 800",
        menu(size={"width": 800, "height": 250}),
        menu(size={"width": 799, "height": 250}),
        ("size.width", "too_small"),
    ),
    ("width at most 2500", menu(), menu(size={"width": 2501, "height": 1686}), ("size.width", "too_large")),
    (
        "height at least 250",
        menu(size={"width": 1200, "height": 250}),
        menu(size={"width": 1200, "height": 249}),
        ("size.height", "too_small"),
    ),
    (
        "ratio at least 1.45",
        menu(size={"width": 1450, "height": 1000}),
        menu(size={"width": 1449, "height": 1000}),
        ("size", "aspect_ratio"),
    ),
    ("name at most 300", menu(name="n" * 300), menu(name="n" * 301), ("name", "too_long")),
    ("chatBarText at most 14", menu(chatBarText="c" * 14), menu(chatBarText="c" * 15), ("chatBarText", "too_long")),
    ("chatBarText not empty", menu(chatBarText="c"), menu(chatBarText=""), ("chatBarText", "blank")),
    ("at most 20 areas", menu(areas=[area(SWITCH)] * 20), menu(areas=[area(SWITCH)] * 21), ("areas", "too_many")),
    ("at least 1 area", menu(), menu(areas=[]), ("areas", "too_few")),
    (
        "areas inside the image",
        menu(areas=[area(SWITCH, x=2400, width=100)]),
        menu(areas=[area(SWITCH, x=2401, width=100)]),
        ("areas[0].bounds", "out_of_bounds"),
    ),
    (
        "action label at most 20",
        menu(areas=[area({**SWITCH, "label": "l" * 20})]),
        menu(areas=[area({**SWITCH, "label": "l" * 21})]),
        ("areas[0].action.label", "too_long"),
    ),
    (
        "richmenuswitch needs an alias",
        menu(areas=[area(SWITCH)]),
        menu(areas=[area({"type": "richmenuswitch", "data": "d"})]),
        ("areas[0].action.richMenuAliasId", "required"),
    ),
    ("selected is required", menu(selected=True), menu(selected=None), ("selected", "required")),
]


@pytest.mark.parametrize(("rule", "good", "bad", "expected"), MENU_CASES, ids=[c[0] for c in MENU_CASES])
def test_rich_menu_rule(rule: str, good: dict[str, Any], bad: dict[str, Any], expected: tuple[str, str]) -> None:
    assert check_rich_menu(good) == [], rule
    assert expected in msg(check_rich_menu, bad), rule


def image_bytes(fmt: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, format=fmt)
    return buffer.getvalue()


def test_rich_menu_image_checks() -> None:
    png = image_bytes("PNG", (800, 540))
    jpeg = image_bytes("JPEG", (800, 540))
    assert check_rich_menu_image(png, "image/png", (800, 540)) == []
    assert check_rich_menu_image(jpeg, "image/jpeg", (800, 540)) == []
    assert check_rich_menu_image(jpeg, "image/jpeg") == []
    assert ("image", "image_size") in msg(check_rich_menu_image, png, "image/png", (2500, 1686))
    assert ("image", "image_format") in msg(check_rich_menu_image, image_bytes("GIF", (800, 540)), "image/gif")
    assert ("image", "content_type_mismatch") in msg(check_rich_menu_image, png, "image/jpeg", (800, 540))
    assert ("image", "content_type") in msg(check_rich_menu_image, png, "image/webp", (800, 540))
    assert ("image", "file_too_large") in msg(check_rich_menu_image, png + b"\0" * 1_000_000, "image/png")
    assert ("image", "image_unreadable") in msg(check_rich_menu_image, b"\x89PNG\r\n\x1a\n broken", "image/png")


def test_aggregation_unit_names() -> None:
    assert check_custom_aggregation_unit("Promo_2025_a") == []
    assert check_custom_aggregation_unit("a" * 30) == []
    assert ("customAggregationUnits[0]", "aggregation_unit") in msg(check_custom_aggregation_unit, "spring-sale")
    assert ("customAggregationUnits[0]", "aggregation_unit") in msg(check_custom_aggregation_unit, "a" * 31)
    assert ("customAggregationUnits[0]", "required") in msg(check_custom_aggregation_unit, "")


def test_alias_ids() -> None:
    assert check_alias_id("menu-b_2") == []
    assert ("richMenuAliasId", "alias_id") in msg(check_alias_id, "Menu-B")
    assert ("richMenuAliasId", "alias_id") in msg(check_alias_id, "a" * 33)
