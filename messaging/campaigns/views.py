"""Staff pages for campaigns. Thin: permission (channel_view), a form, one service or selector, render."""

from __future__ import annotations

import json
import mimetypes

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import channel_view
from accounts.permissions import Perm, can

from . import charts, dashboard, emoji, selectors, services, stickers
from .audiences import estimate_reach
from .forms import CampaignForm, CampaignSettingsForm, MediaUploadForm, SegmentForm, TemplateForm, composer_errors
from .media import media_upload
from .models import AudienceKind, Campaign, MediaAsset, MessageTemplate, Segment
from .preview import display_items
from .quota import quota_status
from .validation import CampaignInvalid, parse_messages_json


def _campaign(channel, pk) -> Campaign:
    return get_object_or_404(Campaign, pk=pk, channel=channel)


@channel_view(Perm.VIEW)
def campaign_list(request, channel):
    return render(
        request,
        "campaigns/campaign_list.html",
        {
            "campaigns": selectors.campaigns_for(channel, state=request.GET.get("state") or None)[:200],
            "alerts": selectors.campaign_alerts(channel)[:5],
            "can_compose": can(request.user, channel, Perm.COMPOSE_CAMPAIGNS),
        },
    )


def _compose_context(request, channel, form, campaign=None, warnings=()):
    return {
        "form": form,
        "campaign": campaign,
        "warnings": warnings,
        "bad_rows": form.bad_rows,
        "message_errors": json.dumps(form.message_path_errors),
        "templates": MessageTemplate.objects.filter(channel=channel),
        "sticker_catalogue": stickers.catalogue(),
        "emoji_catalogue": emoji.catalogue(),
        "may_approve": can(request.user, channel, Perm.APPROVE_CAMPAIGNS),
        "require_approval": services.settings_for(channel).require_approval,
    }


@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_compose(request, channel, pk=None):
    """Create or edit; "Save draft" or "Schedule" (both or neither happen: one transaction)."""
    campaign = _campaign(channel, pk) if pk else None
    if campaign and not campaign.is_editable:
        flash.error(request, _("A campaign that has started can no longer be changed."))
        return redirect("campaign-detail", channel.pk, campaign.pk)
    if request.method != "POST":
        initial = CampaignForm.initial_for(campaign) if campaign else {"messages": "[]"}
        if (tpl := request.GET.get("template")) and not campaign:
            template = get_object_or_404(MessageTemplate, pk=tpl, channel=channel)
            initial["messages"] = json.dumps(template.messages, ensure_ascii=False)
        form = CampaignForm(initial=initial, channel=channel)
        return render(request, "campaigns/campaign_form.html", _compose_context(request, channel, form, campaign))
    form = CampaignForm(request.POST, request.FILES, channel=channel)
    if form.is_valid():
        try:
            campaign = _save(request, channel, form, campaign)
        except CampaignInvalid as exc:
            _errors_to_form(form, exc.errors)
        else:
            return redirect("campaign-detail", channel.pk, campaign.pk)
    return render(
        request, "campaigns/campaign_form.html", _compose_context(request, channel, form, campaign), status=400
    )


def _save(request, channel, form, campaign):
    fields = form.campaign_fields()
    with transaction.atomic():
        if campaign is None:
            campaign = services.campaign_create(channel=channel, actor=request.user, **fields)
        else:
            campaign = services.campaign_update(campaign=campaign, actor=request.user, **fields)
        if request.POST.get("action") == "schedule":
            when = form.cleaned_data["scheduled_at"] if form.cleaned_data["send_mode"] == "later" else None
            campaign = services.campaign_schedule(
                campaign=campaign, actor=request.user, when=when, override_quota=form.cleaned_data["override_quota"]
            )
            flash.success(
                request, _("Campaign scheduled.") if campaign.state == "scheduled" else _("Campaign sent for approval.")
            )
        else:
            flash.success(request, _("Draft saved."))
    return campaign


def _errors_to_form(form, errors: dict) -> None:
    for key, msgs in errors.items():
        field = (
            key
            if key in form.fields
            else ("messages" if key.startswith("messages") else "user_ids_text" if key == "audience" else None)
        )
        if key.startswith("messages"):
            form.message_path_errors.setdefault(key, []).extend(msgs)
        for msg in msgs:
            form.add_error(field, f"{key}: {msg}" if key.startswith("messages[") else msg)


EVENT_NAMES = {
    "created": _lazy("Created"),
    "scheduled": _lazy("Scheduled"),
    "submitted": _lazy("Sent for approval"),
    "approved": _lazy("Approved"),
    "rejected": _lazy("Sent back"),
    "unscheduled": _lazy("Unscheduled"),
    "started": _lazy("Started"),
    "paused": _lazy("Paused"),
    "resumed": _lazy("Resumed"),
    "cancelled": _lazy("Cancelled"),
    "done": _lazy("Done"),
    "failed": _lazy("Failed"),
}


@channel_view(Perm.VIEW)
def campaign_detail(request, channel, pk):
    campaign = _campaign(channel, pk)
    events = list(campaign.events.select_related("actor")[:50])
    for e in events:
        e.label = EVENT_NAMES.get(e.kind, e.kind)
    statistics = getattr(campaign, "statistics", None) if hasattr(campaign, "statistics") else None
    return render(
        request,
        "campaigns/campaign_detail.html",
        {
            "campaign": campaign,
            "progress": selectors.campaign_progress(campaign),
            "events": events,
            "failures": selectors.failure_reasons(campaign),
            "took_seconds": int((campaign.finished_at - campaign.started_at).total_seconds())
            if campaign.started_at and campaign.finished_at
            else None,
            "statistics": statistics,
            **_insight_charts(campaign, statistics),
            "items": display_items(campaign.messages, personalize=campaign.personalize),
            "can_compose": can(request.user, channel, Perm.COMPOSE_CAMPAIGNS),
            "may_approve": can(request.user, channel, Perm.APPROVE_CAMPAIGNS),
        },
    )


def _insight_charts(campaign, statistics) -> dict:
    """LINE's interaction numbers for the campaign (when LINE has published them), as bar charts."""
    data = (statistics.data if statistics else None) or {}
    if not statistics or data.get("error") or not data.get("overview"):
        return {"funnel": None, "bubbles": None, "clicks": []}
    overview = data["overview"]
    delivered = overview.get("delivered", campaign.accepted_count)
    funnel = charts.hbars(
        chart_id="funnel",
        title=_("How friends responded (LINE's figures)"),
        base=delivered,
        items=[
            (_("Delivered"), delivered),
            (_("Opened (unique impressions)"), overview.get("uniqueImpression")),
            (_("Tapped a link (unique clicks)"), overview.get("uniqueClick")),
            (_("Played video or audio"), overview.get("uniqueMediaPlayed")),
        ],
    )
    bubbles = [m for m in data.get("messages") or [] if isinstance(m, dict)]
    return {
        "funnel": funnel,
        "bubbles": charts.hbars(
            chart_id="bubbles",
            title=_("Impressions per message bubble"),
            base=delivered,
            items=[(_("Bubble %(n)s") % {"n": m.get("seq")}, m.get("impression")) for m in bubbles],
        )
        if bubbles
        else None,
        "clicks": [c for c in data.get("clicks") or [] if isinstance(c, dict)],
    }


@channel_view(Perm.VIEW)
def campaign_progress(request, channel, pk):
    """The progress bar fragment htmx polls every two seconds while the campaign is sending."""
    campaign = _campaign(channel, pk)
    return render(
        request, "campaigns/_progress.html", {"campaign": campaign, "progress": selectors.campaign_progress(campaign)}
    )


ACTIONS = {
    "approve": (Perm.APPROVE_CAMPAIGNS, services.campaign_approve, _lazy("Approved.")),
    "reject": (Perm.APPROVE_CAMPAIGNS, services.campaign_reject, _lazy("Sent back to draft.")),
    "cancel": (Perm.COMPOSE_CAMPAIGNS, services.campaign_cancel, _lazy("Cancelled.")),
    "pause": (Perm.COMPOSE_CAMPAIGNS, services.campaign_pause, _lazy("Paused.")),
    "resume": (Perm.COMPOSE_CAMPAIGNS, services.campaign_resume, _lazy("Resumed.")),
}


@require_POST
@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_action(request, channel, pk, action):
    perm, service, done = ACTIONS.get(action) or (None, None, None)
    if service is None:
        raise Http404
    if not can(request.user, channel, perm):
        raise PermissionDenied
    campaign = _campaign(channel, pk)
    kwargs = {"override_quota": request.POST.get("override_quota") == "1"} if action == "resume" else {}
    try:
        service(campaign=campaign, actor=request.user, **kwargs)
        flash.success(request, done)
    except CampaignInvalid as exc:
        for msgs in exc.errors.values():
            for msg in msgs:
                flash.error(request, msg)
    return redirect("campaign-detail", channel.pk, campaign.pk)


@require_POST
@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_preview(request, channel):
    """As the marketer types: the phone preview and every limit error, keyed by LINE path."""
    messages, problem = parse_messages_json(request.POST.get("messages", "[]"))
    if problem:
        return JsonResponse({"html": "", "errors": {"messages": [problem]}})
    personalize = request.POST.get("personalize") in ("on", "true", "1")
    html = render_to_string(
        "campaigns/_phone.html",
        {"items": display_items(messages, personalize=personalize), "channel": channel},
        request=request,
    )
    return JsonResponse({"html": html, "errors": composer_errors(messages)})


@require_POST
@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_reach(request, channel):
    """Estimated reach for the audience chosen in the form (htmx fragment)."""
    form = CampaignForm(request.POST, channel=channel)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    kind = data.get("audience_kind") or AudienceKind.SEGMENT
    reach = estimate_reach(channel, kind, data.get("audience") or {})
    return render(request, "campaigns/_reach.html", {"reach": reach, "bad_rows": form.bad_rows})


@require_POST
@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_send_test(request, channel):
    messages, problem = parse_messages_json(request.POST.get("messages", "[]"))
    try:
        if problem:
            raise CampaignInvalid({"messages": [problem]})
        services.campaign_send_test(
            channel=channel,
            actor=request.user,
            messages=messages,
            personalize=request.POST.get("personalize") in ("on", "true", "1"),
        )
    except CampaignInvalid as exc:
        return JsonResponse({"ok": False, "errors": exc.errors}, status=400)
    return JsonResponse({"ok": True, "message": _("Test sent to your LINE account.")})


@require_POST
@channel_view(Perm.COMPOSE_CAMPAIGNS)
def campaign_media_upload(request, channel):
    form = MediaUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return JsonResponse({"ok": False, "errors": form.errors}, status=400)
    try:
        urls = media_upload(
            channel=channel, actor=request.user, kind=form.cleaned_data["kind"], upload=form.cleaned_data["file"]
        )
    except CampaignInvalid as exc:
        return JsonResponse({"ok": False, "errors": exc.errors}, status=400)
    return JsonResponse({"ok": True, **urls})


@require_GET
def campaign_media_file(request, name: str):
    """Public: LINE's servers fetch campaign media from here (only files recorded as campaign media)."""
    asset = MediaAsset.objects.filter(file=name).first() or MediaAsset.objects.filter(preview=name).first()
    if asset is None:
        raise Http404
    field = asset.file if asset.file.name == name else asset.preview
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(field.open("rb"), content_type=content_type)


@channel_view(Perm.COMPOSE_CAMPAIGNS)
def template_list(request, channel):
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.template_save(channel=channel, actor=request.user, **form.cleaned_data)
            return JsonResponse({"ok": True, "message": _("Template saved.")})
        except CampaignInvalid as exc:
            return JsonResponse({"ok": False, "errors": exc.errors}, status=400)
    if request.method == "POST":
        return JsonResponse({"ok": False, "errors": form.errors}, status=400)
    return JsonResponse(
        {
            "templates": [
                {"id": t.pk, "name": t.name, "messages": t.messages}
                for t in MessageTemplate.objects.filter(channel=channel)
            ]
        }
    )


@channel_view(Perm.COMPOSE_CAMPAIGNS)
def segment_list(request, channel):
    form = SegmentForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        services.segment_save(
            channel=channel, actor=request.user, name=form.cleaned_data["name"], filters=form.filters()
        )
        flash.success(request, _("Segment saved."))
        return redirect("campaign-segments", channel.pk)
    segments = [
        (s, estimate_reach(channel, AudienceKind.SEGMENT, {"include_segments": [s.pk]}).count)
        for s in Segment.objects.filter(channel=channel)
    ]
    return render(request, "campaigns/segment_list.html", {"form": form, "segments": segments})


@channel_view(Perm.VIEW)
def campaign_dashboard(request, channel):
    """Friends, messages sent by type and the quota, over 7, 30 or 90 days in the channel's time zone."""
    span = int(request.GET["days"]) if request.GET.get("days") in {str(d) for d in dashboard.RANGES} else 30
    days = selectors.day_range(channel, span)
    settings_form = CampaignSettingsForm(initial={"require_approval": services.settings_for(channel).require_approval})
    return render(
        request,
        "campaigns/dashboard.html",
        {
            "span": span,
            "ranges": dashboard.RANGES,
            "first_day": days.days[0],
            "last_day": days.days[-1],
            **dashboard.period_charts(channel, days),
            "campaigns": selectors.campaigns_between(channel, days)[:50],
            "settings_form": settings_form,
            "may_manage": can(request.user, channel, Perm.APPROVE_CAMPAIGNS),
        },
    )


@channel_view(Perm.VIEW)
def campaign_dashboard_quota(request, channel):
    """The quota card, loaded by htmx after the page: it asks LINE, which may be slow or away."""
    quota = quota_status(channel, refresh=request.GET.get("refresh") == "1")
    return render(
        request, "campaigns/_quota.html", {"quota": quota, "month_chart": dashboard.month_chart(channel, quota)}
    )


@require_POST
@channel_view(Perm.APPROVE_CAMPAIGNS)
def campaign_settings(request, channel):
    form = CampaignSettingsForm(request.POST)
    form.is_valid()
    services.campaign_settings_update(
        channel=channel, actor=request.user, require_approval=form.cleaned_data.get("require_approval", False)
    )
    flash.success(request, _("Settings saved."))
    return redirect("campaign-dashboard", channel.pk)
