"""Sends (push, multicast, ...) travel on keep-alive connections of their own: what a caller can notice."""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import os
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lineapi import LineAPIError, LineClient
from lineapi.tests.fakeline import TOKEN, FakeLine, Reply

PUSH = "/v2/bot/message/push"
USER = "U" + "0" * 32
TEXT = [{"type": "text", "text": "hello"}]
OK = Reply(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})


def push(client: LineClient, key: str | None = None):
    return client.push(USER, TEXT, retry_key=key or str(uuid.uuid4()))


def test_a_push_carries_its_retry_key_token_and_user_agent(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, OK)
    key = str(uuid.uuid4())
    result = push(client, key)
    seen = line.requests_to(PUSH)[0]
    assert seen.headers["x-line-retry-key"] == key
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["user-agent"] == "lineapi/1.0 (LINE OA Console)"
    assert seen.headers["content-type"] == "application/json"
    assert seen.json() == {"to": USER, "messages": TEXT}
    assert result.request_id == result.accepted_request_id and result.sent_messages[0].quote_token == "q"


def test_pushes_from_one_thread_share_a_connection_and_threads_do_not(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, OK)
    push(client)
    push(client)
    other = threading.Thread(target=push, args=(client,))
    other.start()
    other.join()
    ports = [s.client_port for s in line.requests_to(PUSH)]
    assert ports[0] == ports[1] != ports[2]


def test_threads_that_come_and_go_leave_no_connection_open(client: LineClient, line: FakeLine) -> None:
    """A campaign sender starts its HTTP threads per task; their connections must end with them."""
    line.on("POST", PUSH, OK)
    push(client)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        thread = threading.Thread(target=push, args=(client,))
        thread.start()
        thread.join()
    gc.collect()
    assert len(line.requests_to(PUSH)) == 21
    assert len(os.listdir("/proc/self/fd")) <= before + 2


def hung_up(line: FakeLine, connections: int) -> None:
    """Until LINE's side has closed this many connections (a fixed sleep lost that race on a loaded machine:
    the client then sent on a socket the server was about to close, which is an error, never a resend)."""
    deadline = time.monotonic() + 10
    while line.server.closed < connections and time.monotonic() < deadline:
        time.sleep(0.01)
    assert line.server.closed == connections


def test_a_connection_line_closed_while_idle_is_opened_again_without_resending(
    client: LineClient, line: FakeLine
) -> None:
    line.on("POST", PUSH, Reply(200, {}, hang_up=True))
    push(client)
    hung_up(line, 1)  # LINE closes idle keep-alive connections; the next send must not trip over that
    push(client)
    hung_up(line, 2)
    line.on("POST", PUSH, Reply(200, {}, headers={"Connection": "close"}))
    push(client)
    push(client)
    assert len(line.requests_to(PUSH)) == 4
    assert len({s.client_port for s in line.requests_to(PUSH)}) == 4


def test_a_dropped_answer_is_not_sent_again_on_a_new_connection(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(drop=True))
    with pytest.raises(LineAPIError) as info:
        push(client)
    assert (info.value.kind, info.value.retryable) == ("connection", True)
    assert len(line.requests_to(PUSH)) == 1
    line.on("POST", PUSH, OK)
    push(client)  # the next call opens a new connection
    assert len(line.requests_to(PUSH)) == 2


def test_a_monthly_limit_on_a_push_is_told_from_a_rate_limit(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, Reply(429, {"message": "You have reached your monthly limit."}))
    with pytest.raises(LineAPIError) as info:
        push(client)
    assert (info.value.kind, info.value.retryable) == ("quota", False)
    rate_limited = {"message": "The API rate limit has been exceeded."}
    line.on("POST", PUSH, Reply(429, rate_limited, headers={"Retry-After": "2"}))
    with pytest.raises(LineAPIError) as info:
        push(client)
    assert (info.value.kind, info.value.retryable, info.value.retry_after) == ("rate_limit", True, 2.0)


def test_a_proxy_named_in_the_environment_still_carries_the_sends(line: FakeLine, monkeypatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", line.base_url)  # FakeLine answers as the proxy would relay
    line.on("POST", PUSH, OK)
    with LineClient(access_token=TOKEN, api_base="http://api.line.invalid", timeout=(1.0, 2.0)) as client:
        push(client)
    assert len(line.requests_to(PUSH)) == 1


# -- TLS: verified like requests verifies, against its CA bundle or the one the environment names ----------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (so no CA in any bundle vouches for it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake LINE")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_line(certificate: tuple[Path, Path]) -> Iterator[FakeLine]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = FakeLine(tls=context)
    server.on("POST", PUSH, OK)
    yield server
    server.close()


def test_a_certificate_no_trusted_authority_signed_is_refused(tls_line: FakeLine, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = LineClient(access_token=TOKEN, api_base=tls_line.base_url, timeout=(2.0, 2.0))
    with client, pytest.raises(LineAPIError) as info:
        push(client)
    assert (info.value.kind, info.value.retryable) == ("connection", True)
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message
    assert tls_line.requests_to(PUSH) == []


def test_the_ca_bundle_named_in_the_environment_is_trusted(tls_line: FakeLine, certificate, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    with LineClient(access_token=TOKEN, api_base=tls_line.base_url, timeout=(2.0, 2.0)) as client:
        push(client)
        push(client)
    assert len(tls_line.requests_to(PUSH)) == 2


def test_a_token_that_would_split_the_request_is_refused_before_sending(line: FakeLine) -> None:
    line.on("POST", PUSH, OK)
    client = LineClient(access_token=TOKEN + "\r\nX-Injected: 1", api_base=line.base_url)
    with client, pytest.raises(LineAPIError) as info:
        push(client)
    assert (info.value.kind, info.value.retryable) == ("client", False)
    assert TOKEN not in str(info.value)
    assert line.seen == []


def test_the_request_names_its_host_and_its_length(client: LineClient, line: FakeLine) -> None:
    line.on("POST", PUSH, OK)
    push(client)
    seen = line.requests_to(PUSH)[0]
    assert seen.headers["host"] == line.base_url.removeprefix("http://")
    assert int(seen.headers["content-length"]) == len(seen.body)
