"""Start-up safety, the shell's language and time zone, and secrets kept out of logs."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.logging import redact

from .factories import MembershipFactory

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, **env):
    dropped = (
        "DJANGO_SECRET_KEY",
        "FIELD_ENCRYPTION_KEY",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )  # the last is set for Playwright
    base = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "FIELD_ENCRYPTION_KEY": "A" * 43 + "="}
    env.pop(missing)
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert result.stderr.strip() == f"error: {missing} must be set when DJANGO_DEBUG is off (see .env.example)"


def test_check_deploy_is_clean_under_production_settings():
    from cryptography.fernet import Fernet

    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="k3y-" + "q9Zx" * 16,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DJANGO_ALLOWED_HOSTS="console.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_the_shell_offers_every_section_the_channel_zone_and_languages(client):
    m = MembershipFactory(role="viewer", channel__time_zone="Asia/Tokyo")
    client.force_login(m.user)
    page = client.get(reverse("inbox", args=[m.channel.pk])).content.decode()
    for label in ("Inbox", "Campaigns", "Rich menus", "Linking", "Settings", "Asia/Tokyo", "日本語", "繁體中文"):
        assert label in page


@pytest.mark.django_db
@pytest.mark.parametrize("language,word", [("ja", "受信箱"), ("zh-hant", "收件匣"), ("en", "Inbox")])
def test_a_chosen_language_sticks_to_the_staff_member(client, language, word):
    m = MembershipFactory(role="viewer")
    client.force_login(m.user)
    client.post(reverse("set-language"), {"language": language, "next": "/"})
    m.user.refresh_from_db()
    assert m.user.language == language
    assert word in client.get(reverse("inbox", args=[m.channel.pk])).content.decode()


def test_logs_never_carry_tokens_or_secrets(caplog):
    from accounts.logging import RedactSecretsFilter

    logger = logging.getLogger("test.redaction")
    logger.addFilter(RedactSecretsFilter())
    with caplog.at_level(logging.INFO):
        logger.info("calling with Authorization: Bearer %s", "abcDEF123456789tokentoken")
        logger.info("form channel_secret=%s&x=1", "0123456789abcdef")
    text = caplog.text
    assert "abcDEF123456789tokentoken" not in text and "0123456789abcdef" not in text
    assert redact("access_token: 'zzzzzzzzzzzz'") == "access_token: '[redacted]'"


@pytest.mark.django_db
def test_the_api_docs_work_offline(client):
    m = MembershipFactory(role="viewer")
    client.force_login(m.user)
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs.lower() and "cdn" not in docs.lower() and "//unpkg" not in docs
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/channels/" in schema.content
