"""The web process as deployed: gunicorn with config/gunicorn.conf.py on the test database, with its
default uvicorn workers (config.asgi), and with threaded and gevent workers (WEB_WORKER_CLASS).

LINE's webhook POSTs arrive many at once; staff sign in and read the inbox on the same processes.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.db import connection

from accounts.models import Role
from accounts.tests.factories import ChannelFactory, MembershipFactory
from messaging.models import WebhookEvent
from messaging.webhooks import asgi as webhook_asgi
from tests.fixtures import webhooks as fx

ROOT = Path(__file__).resolve().parent.parent.parent
POOL = 2  # connections a uvicorn or gevent server lends; far fewer than the POSTs that arrive at once
APP_NAME = "web-server-under-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["uvicorn", "gthread", "gevent"])
def web_server(request, transactional_db, tmp_path):
    """One gunicorn process with the deployed settings and each worker class, on this test's database;
    yields its base URL and worker class."""
    from config.celery import app

    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_NAME": str(connection.settings_dict["NAME"]),
        "WEB_CONCURRENCY": "1",
        "WEB_WORKER_CLASS": request.param,
        "DB_POOL_MAX_SIZE": str(POOL),
        "PGAPPNAME": APP_NAME,  # libpq names the server's PostgreSQL sessions
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)  # processing is queued for a worker, as deployed
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "config" / "gunicorn.conf.py")]
            + ["-b", f"127.0.0.1:{port}"],  # the application is the settings' own for the class
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=5)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}") from None
                time.sleep(0.2)
        yield SimpleNamespace(url=base, worker_class=request.param)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge("celery")
    assert "Traceback" not in log_path.read_text(), log_path.read_text()[-3000:]


def _post(url: str, body: bytes, signature: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "x-line-signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _server_connections() -> int:
    """The server's sessions on the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            [APP_NAME],
        )
        return cursor.fetchone()[0]


def test_a_burst_of_webhooks_is_stored_once_each_on_a_bounded_pool_of_connections(web_server):
    channel = ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)
    base = fx.events("message_text")[0]
    users = [{"type": "user", "userId": f"U{i:032x}"} for i in range(60)]
    bodies = [fx.encode([dict(base, webhookEventId=f"01JGWEBSERVER{i:013d}", source=users[i])]) for i in range(60)]
    statuses: list[int] = []
    # All at once, on a cold channel cache: every POST reads the channel, more of them than the pool holds.
    start = threading.Barrier(75)

    def post(body: bytes) -> None:
        start.wait(30)
        statuses.append(_post(web_server.url + channel.webhook_path, body, fx.sign(fx.SECRET, body))[0])

    threads = [threading.Thread(target=post, args=(body,)) for body in bodies + bodies[:15]]  # 15 twice, as LINE may
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert statuses == [200] * 75
    assert WebhookEvent.objects.filter(channel=channel).count() == 60
    if connection.vendor == "postgresql" and web_server.worker_class == "gevent":
        assert 1 <= _server_connections() <= POOL
    if connection.vendor == "postgresql" and web_server.worker_class == "uvicorn":
        # The pool, and the group commit's writers' connections of their own.
        assert 1 <= _server_connections() <= POOL + webhook_asgi.WRITERS


def test_a_forged_webhook_is_refused_with_its_reason_and_stores_nothing(web_server):
    channel = ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION)
    body = fx.encode(fx.events("message_text"))

    status, answer = _post(web_server.url + channel.webhook_path, body, fx.sign("another-secret", body))

    assert status == 401
    assert "x-line-signature" in answer["message"]
    assert not WebhookEvent.objects.exists()


def test_staff_sign_in_and_read_the_inbox_on_the_same_server(web_server):
    base = web_server.url
    channel = ChannelFactory(channel_secret=fx.SECRET, bot_user_id=fx.DESTINATION, name="Gevent Tea House")
    user = MembershipFactory(channel=channel, role=Role.SUPPORT).user
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    login = opener.open(f"{base}/accounts/login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)[1]

    form = urlencode({"csrfmiddlewaretoken": token, "username": user.username, "password": "correct-horse-battery"})
    home = opener.open(
        urllib.request.Request(
            f"{base}/accounts/login/", data=form.encode(), headers={"Referer": f"{base}/accounts/login/"}
        )
    )
    inbox = opener.open(f"{base}/ch/{channel.pk}/").read().decode()

    assert home.status == 200 and home.url != f"{base}/accounts/login/"
    assert "Gevent Tea House" in inbox


def test_a_worker_freezes_what_it_loaded_so_full_collections_do_not_walk_it():
    import gc
    import runpy

    settings = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    before = gc.get_freeze_count()
    try:
        settings["post_worker_init"](SimpleNamespace())  # gunicorn calls it once the worker loaded the app
        assert gc.get_freeze_count() - before > 10_000  # Django and the apps, loaded by now
    finally:
        gc.unfreeze()
