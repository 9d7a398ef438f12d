"""Staff pages for keyword auto-replies and the greeting (marketers and admins), and saved replies (support
agents and admins: they write the answers the reply box offers)."""

from __future__ import annotations

from django.contrib import messages as flash
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import channel_view
from accounts.permissions import Perm

from . import services
from .forms import AutoReplyRuleForm, GreetingForm, SavedReplyForm
from .models import AutoReplyRule, Greeting, SavedReply


@channel_view(Perm.MANAGE_AUTO_REPLIES)
def auto_replies(request, channel):
    rules = AutoReplyRule.objects.filter(channel=channel)
    return render(request, "messaging/autoreply_list.html", {"channel": channel, "rules": rules})


@channel_view(Perm.MANAGE_AUTO_REPLIES)
def auto_reply_edit(request, channel, pk: int | None = None):
    rule = get_object_or_404(AutoReplyRule, channel=channel, pk=pk) if pk else AutoReplyRule(channel=channel)
    form = AutoReplyRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            rule = form.save(commit=False)
            rule.messages = form.messages()
            rule.save()
        flash.success(request, _("Auto-reply saved."))
        return redirect("inbox-auto-replies", channel_pk=channel.pk)
    return render(request, "messaging/autoreply_form.html", {"channel": channel, "form": form, "rule": rule})


@require_POST
@channel_view(Perm.MANAGE_AUTO_REPLIES)
def auto_reply_delete(request, channel, pk: int):
    get_object_or_404(AutoReplyRule, channel=channel, pk=pk).delete()
    flash.success(request, _("Auto-reply deleted."))
    return redirect("inbox-auto-replies", channel_pk=channel.pk)


@channel_view(Perm.MANAGE_AUTO_REPLIES)
def greeting(request, channel):
    current = Greeting.objects.filter(channel=channel).first()
    initial = {
        "is_active": current.is_active if current else False,
        "on_unblock": current.on_unblock if current else False,
        "text": (current.messages[0].get("text", "") if current and current.messages else ""),
    }
    form = GreetingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"].strip()
        Greeting.objects.update_or_create(
            channel=channel,
            defaults={
                "is_active": form.cleaned_data["is_active"] and bool(text),
                "on_unblock": form.cleaned_data["on_unblock"],
                "messages": [{"type": "text", "text": text}] if text else [],
            },
        )
        flash.success(request, _("Greeting saved."))
        return redirect("inbox-greeting", channel_pk=channel.pk)
    return render(request, "messaging/greeting_form.html", {"channel": channel, "form": form})


@channel_view(Perm.REPLY)
def saved_replies(request, channel):
    replies = SavedReply.objects.filter(channel=channel)
    return render(request, "messaging/savedreply_list.html", {"channel": channel, "replies": replies})


@channel_view(Perm.REPLY)
def saved_reply_edit(request, channel, pk: int | None = None):
    current = get_object_or_404(SavedReply, channel=channel, pk=pk) if pk else None
    form = SavedReplyForm(request.POST or None, channel=channel, instance=current)
    if request.method == "POST" and form.is_valid():
        if current is None:
            services.saved_reply_create(channel=channel, **form.cleaned_data)
        else:
            services.saved_reply_update(saved_reply=current, **form.cleaned_data)
        flash.success(request, _("Saved reply saved."))
        return redirect("inbox-saved-replies", channel_pk=channel.pk)
    return render(request, "messaging/savedreply_form.html", {"channel": channel, "form": form, "saved_reply": current})


@require_POST
@channel_view(Perm.REPLY)
def saved_reply_delete(request, channel, pk: int):
    services.saved_reply_delete(saved_reply=get_object_or_404(SavedReply, channel=channel, pk=pk))
    flash.success(request, _("Saved reply deleted."))
    return redirect("inbox-saved-replies", channel_pk=channel.pk)
