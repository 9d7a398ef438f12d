"""Each role can do what its row says and nothing more, in the staff UI and in the REST API."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Membership, Role
from accounts.permissions import ROLE_PERMISSIONS, Perm, role_allows

from .factories import ChannelFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

# The row of each role, as the member-form page explains it to admins.
EXPECTED = {
    Role.ADMIN: set(Perm),
    Role.MARKETER: {Perm.VIEW, Perm.COMPOSE_CAMPAIGNS, Perm.MANAGE_AUTO_REPLIES, Perm.MANAGE_RICH_MENUS},
    Role.SUPPORT: {Perm.VIEW, Perm.REPLY},
    Role.VIEWER: {Perm.VIEW},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("perm", list(Perm))
def test_the_role_table(role, perm):
    assert role_allows(role, perm) == (perm in EXPECTED[role])
    assert ROLE_PERMISSIONS[role] == frozenset(EXPECTED[role])


def member(role):
    m = MembershipFactory(role=role)
    return m.user, m.channel


def settings_post(channel, **changes):
    data = {
        "name": channel.name,
        "channel_id": channel.channel_id,
        "token_mode": channel.token_mode,
        "time_zone": channel.time_zone,
        "api_base": channel.api_base,
        "data_api_base": channel.data_api_base,
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("role", list(Role))
def test_every_member_can_open_the_sections_of_their_channel(client, role):
    user, channel = member(role)
    client.force_login(user)
    for name in ("inbox", "campaigns", "richmenus", "linking", "channel-settings"):
        assert client.get(reverse(name, args=[channel.pk])).status_code == 200, name


@pytest.mark.parametrize("role", [Role.MARKETER, Role.SUPPORT, Role.VIEWER])
def test_only_admins_change_settings_members_and_read_the_audit_log(client, role):
    user, channel = member(role)
    other = UserFactory()
    client.force_login(user)

    response = client.post(reverse("channel-settings", args=[channel.pk]), settings_post(channel, name="Hacked"))
    assert response.status_code == 403
    assert "permission" in response.content.decode()
    assert (
        client.post(reverse("member-add", args=[channel.pk]), {"username": other.username, "role": "admin"}).status_code
        == 403
    )
    assert client.get(reverse("audit-log", args=[channel.pk])).status_code == 403
    channel.refresh_from_db()
    assert channel.name != "Hacked"
    assert not Membership.objects.filter(user=other).exists()


def test_an_admin_adds_a_member_changes_the_role_and_it_is_audited(client):
    admin, channel = member(Role.ADMIN)
    other = UserFactory()
    client.force_login(admin)

    client.post(reverse("member-add", args=[channel.pk]), {"username": other.email, "role": Role.SUPPORT})
    membership = Membership.objects.get(user=other, channel=channel)
    client.post(reverse("member-update", args=[channel.pk, membership.pk]), {"role": Role.MARKETER})

    membership.refresh_from_db()
    assert membership.role == Role.MARKETER
    log = client.get(reverse("audit-log", args=[channel.pk])).content.decode()
    assert "member.add" in log and "member.role" in log


def test_the_last_admin_cannot_be_removed(client):
    admin, channel = member(Role.ADMIN)
    client.force_login(admin)
    membership = Membership.objects.get(user=admin)

    response = client.post(reverse("member-update", args=[channel.pk, membership.pk]), {"remove": "1"}, follow=True)

    assert Membership.objects.filter(pk=membership.pk).exists()
    assert "at least one admin" in response.content.decode()


def test_staff_see_only_their_own_channels_and_get_403_elsewhere(client):
    user, mine = member(Role.VIEWER)
    theirs = ChannelFactory()
    client.force_login(user)

    listing = client.get(reverse("channel-list")).content.decode()
    assert mine.name in listing and theirs.name not in listing
    assert client.get(reverse("inbox", args=[theirs.pk])).status_code == 403
    assert client.get(reverse("channel-settings", args=[theirs.pk])).status_code == 403


def test_only_permitted_staff_may_connect_channels(client):
    user, _ = member(Role.ADMIN)
    client.force_login(user)
    assert client.get(reverse("channel-create")).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client):
    channel = ChannelFactory()
    response = client.get(reverse("inbox", args=[channel.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


def api_client_for(user):
    from io import StringIO

    out = StringIO()
    call_command("createapitoken", user.username, stdout=out)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return api


def test_the_api_lists_only_the_callers_channels_with_their_role():
    user, mine = member(Role.MARKETER)
    ChannelFactory()
    body = api_client_for(user).get("/api/v1/channels/").json()
    assert [c["channel_id"] for c in body["results"]] == [mine.channel_id]
    assert body["results"][0]["role"] == "marketer"
    assert "channel_secret" not in body["results"][0] and "access_token" not in body["results"][0]


@pytest.mark.parametrize(
    "role,status", [(Role.ADMIN, 200), (Role.MARKETER, 403), (Role.SUPPORT, 403), (Role.VIEWER, 403)]
)
def test_the_api_lets_only_admins_change_a_channel(role, status):
    user, channel = member(role)
    response = api_client_for(user).patch(f"/api/v1/channels/{channel.pk}/", {"name": "Renamed"}, format="json")
    assert response.status_code == status
    channel.refresh_from_db()
    assert (channel.name == "Renamed") == (status == 200)


def test_the_api_refuses_other_channels_and_anonymous_callers():
    user, _ = member(Role.ADMIN)
    theirs = ChannelFactory()
    assert api_client_for(user).get(f"/api/v1/channels/{theirs.pk}/").status_code == 404
    assert APIClient().get("/api/v1/channels/").status_code == 401
    assert api_client_for(user).post("/api/v1/channels/", {"name": "x"}, format="json").status_code == 403


def test_changes_made_in_the_django_admin_are_audited_too(client):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    channel = ChannelFactory(name="Before")
    newcomer = UserFactory()
    client.force_login(root)
    url = reverse("admin:accounts_channel_change", args=[channel.pk])
    data = {
        "name": "After",
        "channel_id": channel.channel_id,
        "token_mode": channel.token_mode,
        "api_base": channel.api_base,
        "data_api_base": channel.data_api_base,
        "time_zone": channel.time_zone,
        "is_active": "on",
        "memberships-TOTAL_FORMS": "1",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-user": newcomer.pk,
        "memberships-0-role": Role.SUPPORT,
        "memberships-0-channel": channel.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]

    actions = set(channel.audit_logs.values_list("action", flat=True))
    assert {"channel.update", "member.add"} <= actions
    assert Membership.objects.get(user=newcomer).role == Role.SUPPORT
