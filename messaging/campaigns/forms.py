"""Forms of the campaign pages: the composer (messages, audience, schedule), uploads, segments, settings."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import audiences
from .emoji import emoji_errors
from .models import AudienceKind, Segment
from .stickers import sticker_errors
from .validation import message_errors, parse_messages_json, schedule_errors

MAX_CSV_BYTES = 40 * 1024 * 1024


def composer_errors(messages) -> dict[str, list[str]]:
    """LINE's documented limits, plus stickers and LINE emoji that are not on LINE's lists, by path."""
    errors = message_errors(messages)
    for extra in (sticker_errors(messages), emoji_errors(messages)):
        for path, msgs in extra.items():
            errors.setdefault(path, []).extend(msgs)
    return errors


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    messages = forms.CharField(label=_("Messages"), widget=forms.HiddenInput, required=False)
    audience_kind = forms.ChoiceField(
        label=_("Audience"), choices=AudienceKind.choices, widget=forms.RadioSelect, initial=AudienceKind.SEGMENT
    )
    include_tags = forms.ModelMultipleChoiceField(
        label=_("Friends with any of these tags"), queryset=None, required=False
    )
    exclude_tags = forms.ModelMultipleChoiceField(
        label=_("Except friends with these tags"), queryset=None, required=False
    )
    include_segments = forms.ModelMultipleChoiceField(label=_("Or in these segments"), queryset=None, required=False)
    exclude_segments = forms.ModelMultipleChoiceField(label=_("Except these segments"), queryset=None, required=False)
    user_ids_text = forms.CharField(
        label=_("Paste user IDs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line, or comma separated."),
    )
    user_ids_file = forms.FileField(label=_("…or upload a CSV file"), required=False)
    genders = forms.MultipleChoiceField(
        label=_("Gender"), choices=audiences.GENDERS, required=False, widget=forms.CheckboxSelectMultiple
    )
    age_from = forms.ChoiceField(label=_("Age from"), choices=[("", "—"), *audiences.AGES], required=False)
    age_to = forms.ChoiceField(label=_("Age under"), choices=[("", "—"), *audiences.AGES], required=False)
    app_types = forms.MultipleChoiceField(
        label=_("Phone OS"), choices=audiences.APP_TYPES, required=False, widget=forms.CheckboxSelectMultiple
    )
    areas = forms.MultipleChoiceField(label=_("Area"), choices=audiences.AREAS, required=False)
    subscription = forms.ChoiceField(
        label=_("Friends for at least"), choices=[("", "—"), *audiences.SUBSCRIPTION_PERIODS], required=False
    )
    narrowcast_max = forms.IntegerField(label=_("At most this many recipients"), min_value=1, required=False)
    personalize = forms.BooleanField(label=_("Personalise: {name} in text becomes each friend's name"), required=False)
    notification_disabled = forms.BooleanField(label=_("Send silently (no notification)"), required=False)
    send_mode = forms.ChoiceField(
        label=_("When"),
        choices=[("now", _("Send now")), ("later", _("At a time"))],
        widget=forms.RadioSelect,
        initial="now",
    )
    scheduled_at = forms.DateTimeField(
        label=_("Send at (channel time zone)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    override_quota = forms.BooleanField(label=_("Override the quota guard"), required=False)

    def __init__(self, *args, channel, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel
        tags = channel.tags.all()
        segments = Segment.objects.filter(channel=channel)
        self.fields["include_tags"].queryset = self.fields["exclude_tags"].queryset = tags
        self.fields["include_segments"].queryset = self.fields["exclude_segments"].queryset = segments
        self.bad_rows: list[dict] = []
        self.message_path_errors: dict[str, list[str]] = {}

    def clean_messages(self):
        value, problem = parse_messages_json(self.cleaned_data.get("messages") or "[]")
        if problem:
            raise ValidationError(problem)
        self.message_path_errors = composer_errors(value)
        if self.message_path_errors:
            raise ValidationError(
                [
                    f"{path}: {' '.join(msgs)}" if path != "messages" else " ".join(msgs)
                    for path, msgs in self.message_path_errors.items()
                ]
            )
        return value

    def clean_user_ids_file(self):
        upload = self.cleaned_data.get("user_ids_file")
        if upload and upload.size > MAX_CSV_BYTES:
            raise ValidationError(_("The file is too large (at most 40 MB)."))
        return upload

    def clean(self):
        data = super().clean()
        kind = data.get("audience_kind")
        if kind == AudienceKind.LIST:
            text = data.get("user_ids_text") or ""
            if upload := data.get("user_ids_file"):
                raw = upload.read()
                try:
                    text += "\n" + raw.decode("utf-8-sig")
                except UnicodeDecodeError:
                    self.add_error("user_ids_file", _("The file is not a UTF-8 text or CSV file."))
                    return data
            parsed = audiences.parse_user_id_list(text)
            self.bad_rows = parsed.bad_rows
            if not parsed.user_ids:
                self.add_error("user_ids_text", _("No valid user IDs were found."))
            data["audience"] = {"user_ids": parsed.user_ids, "bad_rows": parsed.bad_rows[:200]}
        elif kind == AudienceKind.DEMOGRAPHIC:
            flt = audiences.demographic_filter(
                genders=data.get("genders") or (),
                age_from=data.get("age_from"),
                age_to=data.get("age_to"),
                app_types=data.get("app_types") or (),
                areas=data.get("areas") or (),
                subscription=[data["subscription"]] if data.get("subscription") else (),
            )
            data["audience"] = {"filter": flt, "max": data.get("narrowcast_max")}
        elif kind == AudienceKind.SEGMENT:
            data["audience"] = {
                key: [obj.pk for obj in data.get(key) or []]
                for key in ("include_tags", "exclude_tags", "include_segments", "exclude_segments")
            }
        else:
            data["audience"] = {}
        if data.get("send_mode") == "later":
            when = data.get("scheduled_at")
            if when is None:
                self.add_error("scheduled_at", _("Pick a date and time."))
            else:
                for msg in schedule_errors(when, timezone.now()).get("scheduled_at", []):
                    self.add_error("scheduled_at", msg)
        return data

    def campaign_fields(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "messages": d["messages"],
            "audience_kind": d["audience_kind"],
            "audience": d["audience"],
            "personalize": d["personalize"],
            "notification_disabled": d["notification_disabled"],
        }

    @classmethod
    def initial_for(cls, campaign) -> dict:
        import json

        spec = campaign.audience or {}
        initial = {
            "name": campaign.name,
            "messages": json.dumps(campaign.messages, ensure_ascii=False),
            "audience_kind": campaign.audience_kind,
            "personalize": campaign.personalize,
            "notification_disabled": campaign.notification_disabled,
            "user_ids_text": "\n".join(spec.get("user_ids") or [])[:200_000],
        }
        for key in ("include_tags", "exclude_tags", "include_segments", "exclude_segments"):
            initial[key] = spec.get(key) or []
        if spec.get("max"):
            initial["narrowcast_max"] = spec["max"]
        return initial


class MediaUploadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("image", _("Image")), ("video", _("Video")), ("audio", _("Audio")), ("preview", _("Preview image"))]
    )
    file = forms.FileField(label=_("File"))


class SegmentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    tags_any = forms.ModelMultipleChoiceField(label=_("Has any of these tags"), queryset=None, required=False)
    tags_all = forms.ModelMultipleChoiceField(label=_("Has all of these tags"), queryset=None, required=False)
    tags_none = forms.ModelMultipleChoiceField(label=_("Has none of these tags"), queryset=None, required=False)
    followed_after = forms.DateField(
        label=_("Followed on or after"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    followed_before = forms.DateField(
        label=_("Followed on or before"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    contacted_within_days = forms.IntegerField(label=_("Wrote to us within (days)"), min_value=1, required=False)
    not_contacted_for_days = forms.IntegerField(label=_("Silent for at least (days)"), min_value=1, required=False)
    languages = forms.CharField(label=_("Languages"), required=False, help_text=_("Comma separated, e.g. ja, zh-TW"))
    linked = forms.ChoiceField(
        label=_("Linked to a customer account"),
        required=False,
        choices=[("", _("Either")), ("yes", _("Linked")), ("no", _("Not linked"))],
    )

    def __init__(self, *args, channel, **kwargs):
        super().__init__(*args, **kwargs)
        for key in ("tags_any", "tags_all", "tags_none"):
            self.fields[key].queryset = channel.tags.all()

    def filters(self) -> dict:
        d = self.cleaned_data
        out: dict = {key: [t.pk for t in d.get(key) or []] for key in ("tags_any", "tags_all", "tags_none")}
        for key in ("followed_after", "followed_before"):
            if d.get(key):
                out[key] = d[key].isoformat()
        for key in ("contacted_within_days", "not_contacted_for_days"):
            if d.get(key):
                out[key] = d[key]
        out["languages"] = [x.strip() for x in (d.get("languages") or "").split(",") if x.strip()]
        if d.get("linked"):
            out["linked"] = d["linked"]
        return out


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Template name"), max_length=100)
    messages = forms.CharField(widget=forms.HiddenInput)

    def clean_messages(self):
        value, problem = parse_messages_json(self.cleaned_data["messages"])
        if problem:
            raise ValidationError(problem)
        return value


class CampaignSettingsForm(forms.Form):
    require_approval = forms.BooleanField(
        label=_("Marketers need an admin's approval before a campaign is sent"), required=False
    )
