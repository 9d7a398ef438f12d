"""Connecting channels: credentials are verified with LINE (linesim), stored encrypted, never shown again."""

import secrets

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from accounts.models import AuditLog, Channel, Membership, Role, TokenMode

from .factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sim_channel(linesim):
    """A channel registered with linesim: its real credentials."""
    creds = {
        "channel_id": str(2000500000 + secrets.randbelow(99999)),
        "secret": secrets.token_hex(16),
        "token": secrets.token_urlsafe(40),
    }
    linesim.register_channel(creds["channel_id"], creds["secret"], creds["token"], "http://127.0.0.1:9/unused")
    creds["api_base"] = linesim.base_url
    return creds


@pytest.fixture
def superuser_client(client):
    user = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(user)
    client.user = user
    return client


def form_data(creds, **overrides):
    data = {
        "name": "Taipei Store",
        "channel_id": creds["channel_id"],
        "channel_secret": creds["secret"],
        "token_mode": TokenMode.LONG_LIVED,
        "access_token": creds["token"],
        "time_zone": "Asia/Taipei",
        "api_base": creds["api_base"],
        "data_api_base": creds["api_base"],
    }
    data.update(overrides)
    return data


def connect(creds, token_mode=TokenMode.LONG_LIVED):
    """Connect the linesim channel through the service, as the form and `createchannel` do."""
    from accounts.services import channel_create

    return channel_create(
        actor=None,
        name="Service Shop",
        channel_id=creds["channel_id"],
        channel_secret=creds["secret"],
        token_mode=token_mode,
        access_token=creds["token"] if token_mode == TokenMode.LONG_LIVED else "",
        api_base=creds["api_base"],
        data_api_base=creds["api_base"],
    )


def test_connecting_a_channel_verifies_it_and_shows_the_webhook_url(superuser_client, sim_channel):
    response = superuser_client.post(reverse("channel-create"), form_data(sim_channel), follow=True)

    channel = Channel.objects.get(channel_id=sim_channel["channel_id"])
    assert channel.verified_at is not None
    assert channel.bot_user_id.startswith("U") and len(channel.bot_user_id) == 33
    page = response.content.decode()
    assert f"/webhooks/line/{sim_channel['channel_id']}/" in page
    # The secret and token are never shown again in full...
    assert sim_channel["secret"] not in page and sim_channel["token"] not in page
    # ...and the creator is its admin, with the change in the audit log.
    assert Membership.objects.get(channel=channel, user=superuser_client.user).role == Role.ADMIN
    assert AuditLog.objects.filter(channel=channel, action="channel.create").exists()


def test_a_wrong_secret_is_reported_at_the_field_and_nothing_is_saved(superuser_client, sim_channel):
    response = superuser_client.post(reverse("channel-create"), form_data(sim_channel, channel_secret="0" * 32))

    assert response.status_code == 200
    assert "did not accept this channel ID and secret" in response.content.decode()
    assert not Channel.objects.exists()
    assert not AuditLog.objects.exists()


def test_a_wrong_access_token_is_reported_at_the_field_and_nothing_is_saved(superuser_client, sim_channel):
    response = superuser_client.post(reverse("channel-create"), form_data(sim_channel, access_token="not-a-token"))

    assert response.status_code == 200
    assert response.context["form"].errors["access_token"]
    assert not Channel.objects.exists()


def test_an_unreachable_line_is_reported_and_nothing_is_saved(superuser_client, sim_channel):
    data = form_data(sim_channel, api_base="http://127.0.0.1:9", data_api_base="http://127.0.0.1:9")
    response = superuser_client.post(reverse("channel-create"), data)

    assert "could not be reached" in response.content.decode()
    assert not Channel.objects.exists()


def test_automatic_tokens_are_issued_from_the_id_and_secret(superuser_client, sim_channel):
    data = form_data(sim_channel, token_mode=TokenMode.STATELESS, access_token="")
    superuser_client.post(reverse("channel-create"), data)

    channel = Channel.objects.get()
    assert channel.access_token == ""
    assert channel.issued_token and channel.issued_token_is_fresh()


def test_secrets_are_encrypted_in_the_database(sim_channel):

    channel = connect(sim_channel)
    with connection.cursor() as cursor:
        cursor.execute("SELECT channel_secret, access_token FROM accounts_channel WHERE id = %s", [channel.pk])
        raw_secret, raw_token = cursor.fetchone()
    assert sim_channel["secret"] not in raw_secret and sim_channel["token"] not in raw_token
    assert Channel.objects.get(pk=channel.pk).channel_secret == sim_channel["secret"]


def test_editing_keeps_the_stored_secret_when_the_box_is_left_empty(superuser_client, sim_channel):
    superuser_client.post(reverse("channel-create"), form_data(sim_channel))
    channel = Channel.objects.get()

    data = form_data(sim_channel, name="Renamed", channel_secret="", access_token="", time_zone="Asia/Tokyo")
    superuser_client.post(reverse("channel-settings", args=[channel.pk]), data)

    channel.refresh_from_db()
    assert (channel.name, channel.time_zone) == ("Renamed", "Asia/Tokyo")
    assert channel.channel_secret == sim_channel["secret"]
    entry = AuditLog.objects.get(action="channel.update")
    assert entry.changes["name"] == "Renamed" and "channel_secret" not in entry.changes


def test_createchannel_prints_the_webhook_url(sim_channel, capsys):
    call_command(
        "createchannel",
        "--name",
        "CLI Shop",
        "--channel-id",
        sim_channel["channel_id"],
        "--secret",
        sim_channel["secret"],
        "--access-token",
        sim_channel["token"],
        "--api-base",
        sim_channel["api_base"],
    )
    assert capsys.readouterr().out.strip().endswith(f"/webhooks/line/{sim_channel['channel_id']}/")
    assert Channel.objects.get().data_api_base == sim_channel["api_base"]


def test_createchannel_refuses_a_wrong_secret(sim_channel):
    with pytest.raises(CommandError, match="LINE refused"):
        call_command(
            "createchannel",
            "--name",
            "CLI Shop",
            "--channel-id",
            sim_channel["channel_id"],
            "--secret",
            "f" * 32,
            "--access-token",
            sim_channel["token"],
            "--api-base",
            sim_channel["api_base"],
        )
    assert not Channel.objects.exists()


def test_beat_renews_an_automatic_token_before_it_expires(sim_channel):
    from django.utils import timezone

    from accounts.tasks import renew_channel_tokens

    channel = connect(sim_channel, token_mode=TokenMode.STATELESS)
    old = channel.issued_token
    Channel.objects.filter(pk=channel.pk).update(
        issued_token_expires_at=timezone.now() + timezone.timedelta(seconds=60)
    )

    assert renew_channel_tokens() == 1
    channel.refresh_from_db()
    assert channel.issued_token != old and channel.issued_token_is_fresh()
    assert renew_channel_tokens() == 0  # fresh tokens are left alone
