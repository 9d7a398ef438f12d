import json
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Channel, Role, TokenMode


class Command(BaseCommand):
    help = "Create the demo admin (password printed once) and the demo channel wired to linesim."

    def add_arguments(self, parser):
        parser.add_argument("--linesim-url", required=True)
        parser.add_argument("--credentials", required=True, help="JSON file with channelId/channelSecret/accessToken")
        parser.add_argument("--username", default="admin")

    def handle(self, *args, linesim_url, credentials, username, **opts):
        creds = json.loads(Path(credentials).read_text())
        User = get_user_model()
        admin = User.objects.filter(username=username).first()
        if admin is None:
            password = secrets.token_urlsafe(12)
            admin = User.objects.create_superuser(username=username, email="", password=password)
            self.stdout.write(self.style.SUCCESS(f"  Demo admin created: username {username!r}, password {password!r}"))
            self.stdout.write("  (shown only now; change it under Profile > Change password)")
        else:
            self.stdout.write(f"  Demo admin: {username!r} (password as printed on the first run)")
        fields = {
            "name": "Demo Shop",
            "channel_id": creds["channelId"],
            "channel_secret": creds["channelSecret"],
            "token_mode": TokenMode.LONG_LIVED,
            "access_token": creds["accessToken"],
            "api_base": linesim_url,
            "data_api_base": linesim_url,
        }
        try:
            channel = Channel.objects.filter(channel_id=creds["channelId"]).first()
            if channel is None:
                channel = services.channel_create(actor=admin, **fields)
            else:
                fields.pop("name")
                channel = services.channel_update(actor=admin, channel=channel, **fields)
                services.membership_set(actor=admin, channel=channel, user=admin, role=Role.ADMIN)
        except services.ChannelVerificationError as exc:
            raise CommandError("linesim refused the demo channel: " + "; ".join(exc.errors.values())) from exc
        self.stdout.write(f"  Demo channel {channel.name!r} ({channel.channel_id}) -> {channel.webhook_url}")
