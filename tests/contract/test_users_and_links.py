"""Profiles, link tokens and the account-link webhook."""

import pytest
from linebot.v3.messaging import ApiException


def test_a_profile_is_returned_for_a_friend_and_404_once_blocked(linesim, channel, user, api):
    profile = api.get_profile(user["userId"])
    assert (profile.user_id, profile.display_name, profile.language) == (user["userId"], "Alice", "en")

    linesim.act(channel["channelId"], user["userId"], "unfollow")
    with pytest.raises(ApiException) as caught:
        api.get_profile(user["userId"])
    assert caught.value.status == 404


def test_a_link_token_links_once_through_an_account_link_event(linesim, channel, user, api, receiver):
    token = api.issue_link_token(user["userId"]).link_token
    receiver.received.queue.clear()

    linked = linesim.act(channel["channelId"], user["userId"], "account-link", linkToken=token, nonce="n" * 24)

    assert linked["webhookStatus"] == 200
    event = receiver.next_json()["events"][0]
    assert event["type"] == "accountLink"
    assert event["link"] == {"result": "ok", "nonce": "n" * 24}
    assert event["source"]["userId"] == user["userId"] and event["replyToken"]
    with pytest.raises(Exception):
        linesim.act(channel["channelId"], user["userId"], "account-link", linkToken=token, nonce="n" * 24)


def test_a_follow_after_an_unfollow_is_an_unblock(linesim, channel, user):
    linesim.act(channel["channelId"], user["userId"], "unfollow")
    event = linesim.act(channel["channelId"], user["userId"], "follow")["event"]
    assert event["follow"] == {"isUnblocked": True}
