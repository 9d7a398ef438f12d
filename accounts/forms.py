from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from .models import Channel, Membership, Role, TokenMode


class ChannelForm(forms.ModelForm):
    """Connect or edit a channel. Secrets are write-only: a blank box on edit keeps the stored value."""

    channel_secret = forms.CharField(
        label=_("Channel secret"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Basic settings tab of the channel in the LINE Developers Console."),
    )
    access_token = forms.CharField(
        label=_("Long-lived channel access token"),
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Messaging API tab. Leave empty with automatic tokens."),
    )

    api_base = forms.URLField(label=_("API base URL"), assume_scheme="https")
    data_api_base = forms.URLField(label=capfirst(_("data API base URL")), assume_scheme="https")

    class Meta:
        model = Channel
        fields = [
            "name",
            "channel_id",
            "channel_secret",
            "token_mode",
            "access_token",
            "time_zone",
            "api_base",
            "data_api_base",
        ]
        widgets = {"token_mode": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = self.instance.pk is not None
        self.fields["token_mode"].choices = TokenMode.choices  # a radio list has no "empty" option
        if self.editing:
            self.fields["channel_secret"].help_text = _("Stored: %(masked)s. Leave empty to keep it.") % {
                "masked": self.instance.masked_secret
            }
            if self.instance.access_token:
                self.fields["access_token"].help_text = _("Stored: %(masked)s. Leave empty to keep it.") % {
                    "masked": self.instance.masked_access_token
                }
        self.initial.setdefault("token_mode", TokenMode.LONG_LIVED)

    def clean_channel_secret(self):
        value = self.cleaned_data.get("channel_secret", "")
        if not value and self.editing:
            return self.instance.channel_secret
        if not value:
            raise forms.ValidationError(_("Enter the channel secret."))
        return value

    def clean(self):
        data = super().clean()
        mode = data.get("token_mode")
        token = data.get("access_token") or ""
        if not token and self.editing and mode == TokenMode.LONG_LIVED:
            token = self.instance.access_token
        if mode == TokenMode.LONG_LIVED and not token:
            self.add_error("access_token", _("Enter the long-lived access token, or choose automatic tokens."))
        if mode != TokenMode.LONG_LIVED:
            token = ""
        data["access_token"] = token
        return data

    def _post_clean(self):
        # The services validate and save; keep ModelForm from writing secrets onto the instance early.
        pass

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.cleaned_data}


class MemberForm(forms.Form):
    username = forms.CharField(label=_("Username or email"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def clean_username(self):
        value = self.cleaned_data["username"].strip()
        User = get_user_model()
        user = User.objects.filter(username=value).first() or User.objects.filter(email__iexact=value).first()
        if user is None or not user.is_active:
            raise forms.ValidationError(_("No active staff member has this username or email."))
        return user


class RoleForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["role"]


class ProfileForm(forms.ModelForm):
    class Meta:
        model = get_user_model()
        fields = ["first_name", "last_name", "email", "language", "line_user_id"]
