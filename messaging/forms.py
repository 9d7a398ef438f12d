from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import AutoReplyRule, Conversation, SavedReply

# A few of LINE's free sticker packages (packageId, stickerId), usable by every account.
STICKERS = [
    ("446:1988", _("Thumbs up")),
    ("446:1989", _("Happy")),
    ("446:1990", _("Thank you")),
    ("446:1993", _("Sorry")),
    ("789:10855", _("OK")),
    ("11537:52002734", _("Hello")),
]
IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png"}


class ReplyForm(forms.Form):
    text = forms.CharField(
        label=_("Message"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    sticker = forms.ChoiceField(label=_("Sticker"), choices=[("", _("No sticker"))] + STICKERS, required=False)
    image = forms.ImageField(label=_("Image"), required=False, help_text=_("JPEG or PNG, at most 10 MB."))

    def clean_image(self):
        image = self.cleaned_data.get("image")
        if image:
            if image.size > 10 * 1024 * 1024:
                raise forms.ValidationError(_("LINE accepts images of at most 10 MB."))
            if getattr(image, "content_type", "") not in IMAGE_TYPES:
                raise forms.ValidationError(_("LINE accepts JPEG and PNG images only."))
        return image

    def clean(self):
        data = super().clean()
        if not (data.get("text", "").strip() or data.get("sticker") or data.get("image")):
            raise forms.ValidationError(_("Write a message, pick a sticker or attach an image."))
        return data


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Conversation.Status.choices)


class TagForm(forms.Form):
    add = forms.CharField(label=_("Add tag"), max_length=50, required=False)
    remove = forms.CharField(max_length=50, required=False)


class AutoReplyRuleForm(forms.ModelForm):
    text1 = forms.CharField(label=_("Message 1"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    text2 = forms.CharField(
        label=_("Message 2"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    text3 = forms.CharField(
        label=_("Message 3"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    text4 = forms.CharField(
        label=_("Message 4"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    text5 = forms.CharField(
        label=_("Message 5"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    class Meta:
        model = AutoReplyRule
        fields = ["name", "match", "keyword", "is_active", "active_from", "active_until", "priority"]
        widgets = {
            "active_from": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "active_until": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for i, message in enumerate((self.instance.messages or [])[:5], start=1):
            self.initial.setdefault(f"text{i}", message.get("text", ""))

    def clean_keyword(self):
        import re

        keyword = self.cleaned_data["keyword"]
        if self.cleaned_data.get("match") == AutoReplyRule.Match.REGEX:
            try:
                re.compile(keyword)
            except re.error as exc:
                raise forms.ValidationError(_("This is not a valid regular expression: %(error)s") % {"error": exc})
        return keyword

    def messages(self) -> list[dict]:
        texts = [self.cleaned_data.get(f"text{i}", "").strip() for i in range(1, 6)]
        return [{"type": "text", "text": t} for t in texts if t]


class GreetingForm(forms.Form):
    is_active = forms.BooleanField(label=_("Send a greeting when someone adds the account"), required=False)
    on_unblock = forms.BooleanField(label=_("Also when someone unblocks the account"), required=False)
    text = forms.CharField(
        label=pgettext_lazy("form field: the text of the greeting message", "Greeting"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("{name} becomes the friend's LINE name."),
    )


class SavedReplyForm(forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=100, help_text=_("What agents pick from the list in the reply box.")
    )
    text = forms.CharField(
        label=_("Text"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Filled into the reply box, where it can be changed before sending. {name} becomes the friend's LINE name."
        ),
    )

    def __init__(self, *args, channel, instance: SavedReply | None = None, **kwargs):
        self.channel, self.instance = channel, instance
        if instance is not None:
            kwargs.setdefault("initial", {"title": instance.title, "text": instance.text})
        super().__init__(*args, **kwargs)

    def clean_title(self):
        title = self.cleaned_data["title"].strip()
        taken = SavedReply.objects.filter(channel=self.channel, title__iexact=title)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(_("A saved reply with this title already exists."))
        return title
