"""Staff pages of the inbox: conversation list, thread, reply box, notes, assignment, status and tags.

Thin views: check the role (channel_view), validate, call one service or selector, render. Live updates are
htmx polling of small partials; history scrolls back by keyset cursor.
"""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.contrib import messages as flash
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import channel_view
from accounts.models import Membership
from accounts.permissions import Perm, role_allows
from accounts.services import line_client

from . import selectors, sending, services
from .forms import IMAGE_TYPES, NoteForm, ReplyForm, StatusForm, TagForm
from .models import Conversation, Message, SavedReply, Tag
from .reasons import UNCONFIRMED, reason_text

POLL_SECONDS = 3
# The list polls every POLL_SECONDS while a search is open; the poll reuses the search's matches this long
# instead of scanning the index again for every agent every 3 s. A search the agent submits runs fresh.
SEARCH_REUSE_SECONDS = 20
WATCH_MAX = 50  # unsettled sends one poll refreshes


def _filters(request) -> selectors.ConversationFilters:
    g = request.GET
    return selectors.ConversationFilters(
        status=g.get("status", ""),
        assignee=g.get("assignee", ""),
        tag=g.get("tag", ""),
        unread=g.get("unread") == "1",
        q=g.get("q", "").strip()[:200],
    )


def _search(request, channel, q: str) -> selectors.SearchResult:
    key = f"inbox-search:{channel.pk}:{hashlib.sha256(q.encode()).hexdigest()}"
    polling = request.htmx and request.htmx.trigger == "conversation-list"
    if polling and (reused := cache.get(key)) is not None:
        return reused
    search = selectors.conversation_search(channel, q)
    cache.set(key, search, SEARCH_REUSE_SECONDS)
    return search


def _list_context(request, channel) -> dict:
    filters = _filters(request)
    cursor = selectors.Cursor.parse(request.GET.get("cursor"))
    search = _search(request, channel, filters.q) if filters.q else None
    conversations, nxt = selectors.conversation_list(
        channel, filters=filters, user=request.user, cursor=cursor, search=search
    )
    if search:
        hits = selectors.search_hits([c.pk for c in conversations], search.terms)
        for c in conversations:
            c.search_hit = hits.get(c.pk, "")
    query = request.GET.copy()
    query.pop("cursor", None)
    return {
        "conversations": conversations,
        "next_cursor": nxt,
        "filters": filters,
        "search": search,
        "recent_messages": selectors.RECENT_MESSAGES,
        "query": query.urlencode(),
        "unread_total": selectors.unread_total(channel),
        "poll_seconds": POLL_SECONDS,
    }


def _page_context(request, channel) -> dict:
    return {
        "channel": channel,
        "statuses": Conversation.Status.choices,
        "tags": Tag.objects.filter(channel=channel),
        "staff": Membership.objects.filter(channel=channel).select_related("user"),
        "can_reply": role_allows(request.channel_role, Perm.REPLY),
        "can_manage_auto_replies": role_allows(request.channel_role, Perm.MANAGE_AUTO_REPLIES),
        **_list_context(request, channel),
    }


@channel_view(Perm.VIEW)
def inbox(request, channel):
    return render(request, "messaging/inbox.html", _page_context(request, channel))


@require_GET
@channel_view(Perm.VIEW)
def conversation_list(request, channel):
    """The list alone: polled by htmx for live updates, and its "more" link."""
    template = (
        "messaging/_conversation_items.html" if request.GET.get("cursor") else "messaging/_conversation_list.html"
    )
    return render(request, template, {"channel": channel, **_list_context(request, channel)})


def _conversation(channel, pk) -> Conversation:
    return get_object_or_404(Conversation.objects.select_related("friend", "group", "assignee"), channel=channel, pk=pk)


def _unsettled(rows) -> list[int]:
    """Sends on screen still waiting for LINE's answer: the poller asks for their status until they settle."""
    return [m.pk for m in rows if m.delivery in (Message.Delivery.PENDING, Message.Delivery.SENDING)][-WATCH_MAX:]


def _thread_context(request, channel, conversation) -> dict:
    page, older = selectors.thread_page(conversation)
    return {
        "conversation": conversation,
        "thread": page,
        "older_cursor": older,
        "last_pk": max((m.pk for m in page), default=0),
        "watch": _unsettled(page),
        "reply_form": ReplyForm(),
        "note_form": NoteForm(),
        "saved_replies": SavedReply.objects.filter(channel=channel),
        "friend_tags": list(conversation.friend.tags.all()) if conversation.friend else [],
        "reply_token_fresh": bool(services.reply_token_if_fresh(conversation)),
    }


@channel_view(Perm.VIEW)
def conversation_detail(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    services.conversation_mark_read(conversation=conversation)
    context = {**_page_context(request, channel), **_thread_context(request, channel, conversation)}
    if request.htmx and request.htmx.target == "thread":
        return render(request, "messaging/_thread.html", context)
    return render(request, "messaging/inbox.html", context)


@require_GET
@channel_view(Perm.VIEW)
def thread_older(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    before = selectors.Cursor.parse(request.GET.get("before"))
    if before is None:
        raise Http404
    page, older = selectors.thread_page(conversation, before=before)
    return render(
        request,
        "messaging/_messages_older.html",
        {
            "channel": channel,
            "conversation": conversation,
            "thread": page,
            "older_cursor": older,
            "can_reply": role_allows(request.channel_role, Perm.REPLY),
        },
    )


@require_GET
@channel_view(Perm.VIEW)
def thread_poll(request, channel, pk: int):
    """New lines since the newest one on the page, and the current state of the sends on the page that were
    still waiting for LINE (`watch`: swapped in place, "sending" -> "sent"/"failed"); the answer carries the
    next poller."""
    conversation = _conversation(channel, pk)
    after = int(request.GET["after"]) if request.GET.get("after", "").isdigit() else 0
    watched = [int(p) for p in request.GET.get("watch", "").split(",") if p.isdigit()][:WATCH_MAX]
    new = selectors.thread_changed_since(conversation, after)
    refreshed = selectors.thread_rows(conversation, [p for p in watched if p <= after])
    if new:
        services.conversation_mark_read(conversation=conversation)
    return render(
        request,
        "messaging/_messages_new.html",
        {
            "channel": channel,
            "conversation": conversation,
            "thread": new,
            "refreshed": refreshed,
            "watch": _unsettled([*refreshed, *new]),
            "last_pk": max([after] + [m.pk for m in new]),
            "poll_seconds": POLL_SECONDS,
            "can_reply": role_allows(request.channel_role, Perm.REPLY),
        },
    )


def _require_reply(request):
    if not role_allows(request.channel_role, Perm.REPLY):
        raise PermissionDenied


def _back(channel, conversation):
    return redirect("inbox-conversation", channel_pk=channel.pk, pk=conversation.pk)


def _image_message(request, image) -> dict:
    """Keep the upload where LINE can fetch it (an unguessable public URL) and describe it as a LINE image."""
    name = default_storage.save(f"line-outbound/{uuid.uuid4().hex}{IMAGE_TYPES[image.content_type]}", image)
    url = settings.PUBLIC_BASE_URL + reverse("line-outbound-media", kwargs={"name": name.rsplit("/", 1)[-1]})
    return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}


def _reply_messages(request, form) -> list[dict]:
    out = []
    if form.cleaned_data.get("text", "").strip():
        out.append({"type": "text", "text": form.cleaned_data["text"].strip()})
    if form.cleaned_data.get("sticker"):
        package, sticker = form.cleaned_data["sticker"].split(":")
        out.append({"type": "sticker", "packageId": package, "stickerId": sticker})
    if form.cleaned_data.get("image"):
        out.append(_image_message(request, form.cleaned_data["image"]))
    return out


def outcome_text(outcome) -> str:
    if outcome.retrying:
        return _(
            "LINE did not answer yet. The message is being sent again automatically with the same retry key, "
            "so it cannot arrive twice; its status updates in the thread."
        )
    if not outcome.ok and outcome.error in UNCONFIRMED:
        return _("Not confirmed: %(reason)s") % {"reason": reason_text(outcome.error)}
    if not outcome.ok:
        return _("Not sent: %(reason)s") % {"reason": reason_text(outcome.error)}
    if outcome.via == "reply":
        return _("Sent with the reply token (free).")
    return _("Sent as a push message (the reply token was no longer valid); it counts toward the monthly quota.")


@require_POST
@channel_view(Perm.REPLY)
def reply(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        outcome = sending.send_from_inbox(
            conversation=conversation,
            messages=_reply_messages(request, form),
            staff=request.user,
            client_for=line_client,
        )
        notify = flash.success if outcome.ok else flash.warning if outcome.retrying else flash.error
        notify(request, outcome_text(outcome))
    else:
        for error in form.errors.values():
            flash.error(request, " ".join(error))
    return _back(channel, conversation)


@require_POST
@channel_view(Perm.REPLY)
def resend(request, channel, pk: int, message_pk: int):
    """Send a failed (or unconfirmed) send again as a new push message."""
    conversation = _conversation(channel, pk)
    message = get_object_or_404(
        Message,
        conversation=conversation,
        pk=message_pk,
        direction=Message.Direction.OUTBOUND,
        delivery=Message.Delivery.FAILED,
    )
    outcome = sending.resend_as_push(message=message, staff=request.user, client_for=line_client)
    notify = flash.success if outcome.ok else flash.warning if outcome.retrying else flash.error
    notify(request, outcome_text(outcome))
    return _back(channel, conversation)


@require_POST
@channel_view(Perm.REPLY)
def add_note(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.note_add(conversation=conversation, author=request.user, text=form.cleaned_data["text"])
    return _back(channel, conversation)


@require_POST
@channel_view(Perm.REPLY)
def assign(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    who = request.POST.get("assignee", "")
    if who == "me":
        assignee = request.user
    elif who.isdigit():
        membership = get_object_or_404(Membership, channel=channel, user_id=int(who))
        assignee = membership.user
    else:
        assignee = None
    services.conversation_assign(conversation=conversation, assignee=assignee, actor=request.user)
    return _back(channel, conversation)


@require_POST
@channel_view(Perm.REPLY)
def set_status(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    form = StatusForm(request.POST)
    if form.is_valid():
        services.conversation_set_status(
            conversation=conversation, status=form.cleaned_data["status"], actor=request.user
        )
    return _back(channel, conversation)


@require_POST
@channel_view(Perm.REPLY)
def tags(request, channel, pk: int):
    conversation = _conversation(channel, pk)
    form = TagForm(request.POST)
    if form.is_valid() and conversation.friend:
        services.friend_set_tags(
            friend=conversation.friend,
            add=[form.cleaned_data["add"]] if form.cleaned_data["add"] else [],
            remove=[form.cleaned_data["remove"]] if form.cleaned_data["remove"] else [],
        )
    return _back(channel, conversation)


@require_GET
@channel_view(Perm.VIEW)
def media(request, channel, message_pk: int):
    """Archived content, for staff of this channel only; gone once the user unsends it."""
    message = get_object_or_404(Message, channel=channel, pk=message_pk, is_unsent=False)
    if not message.content:
        raise Http404
    download = message.type == "file"
    filename = message.payload.get("fileName") if download else None
    return FileResponse(
        message.content.open("rb"),
        as_attachment=download,
        filename=filename or message.content.name.rsplit("/", 1)[-1],
        content_type=message.content_type or None,
    )


@require_GET
def outbound_media(request, name: str):
    """Images we send: LINE fetches them from here, so the (unguessable) URL needs no login."""
    if "/" in name or not name or name.startswith("."):
        raise Http404
    path = f"line-outbound/{name}"
    if not default_storage.exists(path):
        raise Http404
    return FileResponse(default_storage.open(path, "rb"))
