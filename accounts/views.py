"""Staff pages for channels, members, language and the shell around every section."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services
from .decorators import channel_view
from .forms import ChannelForm, MemberForm, ProfileForm, RoleForm
from .models import Membership, Role
from .permissions import Perm, can_connect_channels, role_allows
from .selectors import audit_log_for, channels_for


@login_required
def home(request):
    first = channels_for(request.user).first()
    if first is None:
        return redirect("channel-list")
    return redirect("channel-home", channel_pk=first.pk)


@login_required
def channel_list(request):
    return render(request, "accounts/channel_list.html", {"channels": channels_for(request.user)})


@channel_view(Perm.VIEW)
def channel_home(request, channel):
    return redirect("inbox", channel_pk=channel.pk)


def _save_channel(request, form, save):
    """Run a channel service; LINE's refusals land on the form's fields and nothing is saved."""
    try:
        return save(**form.service_fields())
    except services.ChannelVerificationError as exc:
        for field, message in exc.errors.items():
            form.add_error(field if field in form.fields else None, message)
    return None


@login_required
def channel_create(request):
    if not can_connect_channels(request.user):
        raise PermissionDenied
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        channel = _save_channel(request, form, lambda **f: services.channel_create(actor=request.user, **f))
        if channel is not None:
            messages.success(request, _("Channel connected. Paste the webhook URL into the LINE console."))
            return redirect("channel-settings", channel_pk=channel.pk)
    return render(request, "accounts/channel_form.html", {"form": form})


@channel_view(Perm.VIEW)
def channel_settings(request, channel):
    if request.method == "POST":
        if not role_allows(request.channel_role, Perm.MANAGE_CHANNEL):
            raise PermissionDenied
        form = ChannelForm(request.POST, instance=channel)
        if form.is_valid():
            saved = _save_channel(
                request, form, lambda **f: services.channel_update(actor=request.user, channel=channel, **f)
            )
            if saved is not None:
                messages.success(request, _("Channel settings saved."))
                return redirect("channel-settings", channel_pk=channel.pk)
    else:
        form = ChannelForm(instance=channel)
    return render(
        request,
        "accounts/channel_settings.html",
        {
            "form": form,
            "channel": channel,
            "memberships": channel.memberships.select_related("user"),
            "roles": Role.choices,
        },
    )


@channel_view(Perm.MANAGE_MEMBERS)
def member_add(request, channel):
    form = MemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.membership_set(
            actor=request.user, channel=channel, user=form.cleaned_data["username"], role=form.cleaned_data["role"]
        )
        messages.success(request, _("Member saved."))
        return redirect("channel-settings", channel_pk=channel.pk)
    return render(request, "accounts/member_form.html", {"form": form, "channel": channel})


@require_POST
@channel_view(Perm.MANAGE_MEMBERS)
def member_update(request, channel, membership_pk: int):
    membership = get_object_or_404(Membership, pk=membership_pk, channel=channel)
    try:
        if request.POST.get("remove"):
            services.membership_remove(actor=request.user, membership=membership)
            messages.success(request, _("Member removed."))
        else:
            form = RoleForm(request.POST, instance=Membership(role=membership.role))
            if form.is_valid():
                services.membership_set(
                    actor=request.user, channel=channel, user=membership.user, role=form.cleaned_data["role"]
                )
                messages.success(request, _("Role changed."))
    except services.LastAdminError as exc:
        messages.error(request, str(exc))
    return redirect("channel-settings", channel_pk=channel.pk)


@channel_view(Perm.VIEW_AUDIT_LOG)
def audit_log(request, channel):
    return render(request, "accounts/audit_log.html", {"channel": channel, "entries": audit_log_for(channel)})


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Profile saved."))
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@require_POST
def set_language(request):
    """Switch the interface language; signed-in staff keep their choice on their profile."""
    from django.conf import settings
    from django.utils import translation

    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
        translation.activate(language)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


def section(template: str, perm: Perm = Perm.VIEW):
    """A section of the shell that a later feature fills in; until then it says what will be there."""

    @channel_view(perm)
    def view(request, channel):
        return render(request, template, {"channel": channel})

    return view


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)
