"""Malformed requests are refused the way LINE refuses them."""

import json

import pytest
import requests
from linebot.v3.messaging import (
    ApiException,
    MulticastRequest,
    PushMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    TextMessage,
    URIAction,
)


def error_of(caught) -> dict:
    assert caught.value.status == 400
    return json.loads(caught.value.body)


def test_text_over_5000_characters_is_refused_with_the_property_path(user, api):
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="x" * 5001)]))

    body = error_of(caught)
    assert body["message"] == "The request body has 1 error(s)"
    assert body["details"] == [{"message": "Length must be between 0 and 5000", "property": "messages[0].text"}]


def test_length_is_counted_in_utf16_code_units(user, api):
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to=user["userId"], messages=[TextMessage(text="😀" * 2501)]))
    assert error_of(caught)["details"][0]["property"] == "messages[0].text"


def test_six_messages_are_refused(user, api):
    with pytest.raises(ApiException) as caught:
        api.push_message(
            PushMessageRequest.construct(to=user["userId"], messages=[TextMessage(text=str(i)) for i in range(6)])
        )

    assert error_of(caught)["details"] == [{"message": "Size must be between 1 and 5", "property": "messages"}]


def test_a_bad_user_id_in_a_multicast_is_refused(api):
    with pytest.raises(ApiException) as caught:
        api.multicast(MulticastRequest(to=["U" + "0" * 32, "not-a-user"], messages=[TextMessage(text="hi")]))

    assert error_of(caught)["details"] == [{"message": "invalid user ID", "property": "to[1]"}]


def test_a_bad_push_recipient_is_refused(api):
    with pytest.raises(ApiException) as caught:
        api.push_message(PushMessageRequest(to="Uxyz", messages=[TextMessage(text="hi")]))
    assert error_of(caught)["details"][0]["property"] == "to"


def test_nested_errors_carry_lines_dotted_and_indexed_path(linesim, channel):
    body = {
        "to": "U" + "a" * 32,
        "messages": [
            {"type": "text", "text": "ok"},
            {
                "type": "template",
                "altText": "menu",
                "template": {
                    "type": "buttons",
                    "text": "Pick",
                    "actions": [{"type": "uri", "label": "Go", "uri": "ftp://x"}],
                },
            },
            {
                "type": "image",
                "originalContentUrl": "http://example.com/a.jpg",
                "previewImageUrl": "https://example.com/a.jpg",
            },
        ],
    }
    response = requests.post(
        linesim.base_url + "/v2/bot/message/push",
        json=body,
        headers={"Authorization": f"Bearer {channel['accessToken']}"},
    )

    assert response.status_code == 400
    props = {d["property"] for d in response.json()["details"]}
    assert props == {"messages[1].template.actions[0].uri", "messages[2].originalContentUrl"}


def test_an_unknown_message_type_is_refused(linesim, channel):
    response = requests.post(
        linesim.base_url + "/v2/bot/message/push",
        json={"to": "U" + "a" * 32, "messages": [{"type": "hologram"}]},
        headers={"Authorization": f"Bearer {channel['accessToken']}"},
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "messages[0].type"


def test_invalid_json_and_bad_tokens_get_lines_messages(linesim, channel):
    url = linesim.base_url + "/v2/bot/message/push"
    broken = requests.post(url, data="{nope", headers={"Authorization": f"Bearer {channel['accessToken']}"})
    unauthorised = requests.post(url, json={}, headers={"Authorization": "Bearer wrong"})

    assert broken.status_code == 400
    assert broken.json() == {"message": "The request body could not be parsed as JSON"}
    assert unauthorised.status_code == 401
    assert unauthorised.json()["message"].startswith("Authentication failed.")
    assert unauthorised.headers["x-line-request-id"]


def test_a_body_over_2_mb_is_refused_with_413(linesim, channel):
    response = requests.post(
        linesim.base_url + "/v2/bot/message/push",
        data=b"x" * (2 * 1024 * 1024 + 1),
        headers={"Authorization": f"Bearer {channel['accessToken']}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_rich_menu_limits_that_the_spec_lacks_are_enforced(api):
    too_square = RichMenuRequest(
        size=RichMenuSize(width=1000, height=1000), selected=False, name="m", chat_bar_text="Menu", areas=[]
    )
    with pytest.raises(ApiException) as caught:
        api.validate_rich_menu_object(too_square)
    assert {"message": "aspect ratio (width / height) must be at least 1.45", "property": "size"} in error_of(caught)[
        "details"
    ]

    # The SDK would refuse this locally, so build it without client-side validation.
    long_bar = RichMenuRequest.construct(
        size=RichMenuSize(width=2500, height=843),
        selected=False,
        name="m",
        chat_bar_text="x" * 15,
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=2500, height=843), action=URIAction(uri="https://example.com")
            )
        ],
    )
    with pytest.raises(ApiException) as caught:
        api.validate_rich_menu_object(long_bar)
    assert error_of(caught)["details"] == [{"message": "Length must be between 0 and 14", "property": "chatBarText"}]
