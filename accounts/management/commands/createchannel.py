from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import TokenMode


class Command(BaseCommand):
    help = "Connect a LINE channel (credentials are verified with LINE) and print its webhook URL."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--channel-id", required=True)
        parser.add_argument("--secret", required=True, help="channel secret")
        parser.add_argument("--access-token", default="", help="long-lived token; omit with --token-mode")
        parser.add_argument("--token-mode", choices=[m.value for m in TokenMode], default=None)
        parser.add_argument("--api-base", default=settings.LINE_API_BASE)
        parser.add_argument("--data-api-base", default=None, help="defaults to --api-base when that is set")
        parser.add_argument("--time-zone", default="Asia/Taipei")
        parser.add_argument("--admin", default="", help="username to make the channel's admin")
        parser.add_argument("--no-verify", action="store_true", help="save without asking LINE (offline setup)")

    def handle(self, *args, **opts):
        from django.contrib.auth import get_user_model

        mode = opts["token_mode"] or (TokenMode.LONG_LIVED if opts["access_token"] else TokenMode.STATELESS)
        if mode == TokenMode.LONG_LIVED and not opts["access_token"]:
            raise CommandError("--access-token is required with --token-mode long_lived")
        data_api_base = opts["data_api_base"] or (
            opts["api_base"] if opts["api_base"] != settings.LINE_API_BASE else settings.LINE_DATA_API_BASE
        )
        actor = None
        if opts["admin"]:
            actor = get_user_model().objects.filter(username=opts["admin"]).first()
            if actor is None:
                raise CommandError(f"no user named {opts['admin']!r}")
        try:
            channel = services.channel_create(
                actor=actor,
                verify=not opts["no_verify"],
                name=opts["name"],
                channel_id=opts["channel_id"],
                channel_secret=opts["secret"],
                token_mode=mode,
                access_token=opts["access_token"] if mode == TokenMode.LONG_LIVED else "",
                api_base=opts["api_base"],
                data_api_base=data_api_base,
                time_zone=opts["time_zone"],
            )
        except services.ChannelVerificationError as exc:
            raise CommandError("LINE refused the channel: " + "; ".join(exc.errors.values())) from exc
        except Exception as exc:  # model validation (duplicate channel ID, bad ID format)
            if exc.__class__.__name__ == "ValidationError":
                raise CommandError(str(exc)) from exc
            raise
        self.stdout.write(channel.webhook_url)
