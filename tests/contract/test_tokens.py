"""Channel access tokens: issue, verify, revoke (channel-access-token.yml)."""

import json

import pytest
from linebot.v3.messaging import ApiClient, ApiException, Configuration, MessagingApi
from linebot.v3.oauth import ApiClient as OAuthClient
from linebot.v3.oauth import ChannelAccessToken
from linebot.v3.oauth import Configuration as OAuthConfiguration


@pytest.fixture
def oauth(linesim):
    with OAuthClient(OAuthConfiguration(host=linesim.base_url)) as client:
        yield ChannelAccessToken(client)


def test_a_short_lived_token_works_verifies_and_stops_working_once_revoked(linesim, channel, oauth):
    issued = oauth.issue_channel_token("client_credentials", channel["channelId"], channel["channelSecret"])
    assert issued.expires_in == 2592000 and issued.token_type == "Bearer"

    verified = oauth.verify_channel_token(issued.access_token)
    assert verified.client_id == channel["channelId"] and verified.expires_in > 2591000

    with ApiClient(Configuration(host=linesim.base_url, access_token=issued.access_token)) as client:
        api = MessagingApi(client)
        assert api.get_bot_info().display_name == "Contract Shop"
        oauth.revoke_channel_token(issued.access_token)
        with pytest.raises(ApiException) as caught:
            api.get_bot_info()
    assert caught.value.status == 401


def test_a_stateless_token_lasts_15_minutes(linesim, channel, oauth):
    issued = oauth.issue_stateless_channel_token(
        grant_type="client_credentials", client_id=channel["channelId"], client_secret=channel["channelSecret"]
    )
    assert issued.expires_in == 900
    assert oauth.verify_channel_token_by_jwt(issued.access_token).expires_in <= 900


def test_a_wrong_secret_or_unknown_token_is_refused(channel, oauth):
    from linebot.v3.oauth import ApiException as OAuthApiException

    with pytest.raises(OAuthApiException) as wrong_secret:
        oauth.issue_channel_token("client_credentials", channel["channelId"], "wrong")
    with pytest.raises(OAuthApiException) as unknown:
        oauth.verify_channel_token("not-a-token")
    assert wrong_secret.value.status == 400
    assert unknown.value.status == 400
    assert json.loads(unknown.value.body) == {"error": "invalid_request", "error_description": "access token expired"}
