"""Each channel adapter against a real server the test starts: SMTP (aiosmtpd, one that refuses,
one that drops), a Twilio-style SMS provider, a Web Push endpoint that decrypts what it gets."""

from __future__ import annotations


import pytest
from py_vapid import Vapid

from adapters.channels.files import MailDirEmailSender
from adapters.channels.sms import TwilioSmsSender
from adapters.channels.smtp import SmtpEmailSender
from adapters.channels.webpush import WebPushSender
from adapters.memory.notifications import InMemoryPushSubscriptions
from confero_contracts.notifications import a_job
from domain.notifications.errors import DeliveryFailed, DeliveryRejected
from domain.notifications.model import Channel
from domain.shared.ids import UserId, new_id
from ports.notifications import PushSubscription
from tests.support.notify_servers import DroppingServer, PushEndpoint, SmsProvider, SmtpServer, text_and_html

pytestmark = pytest.mark.integration
UNSUB = "http://app.example/api/v1/notifications/unsubscribe?token=abc"


def smtp_sender(port: int) -> SmtpEmailSender:
    return SmtpEmailSender("127.0.0.1", port, sender="Confero <noreply@confero.test>", domain="confero.test",
                           timeout=5)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


async def test_an_email_arrives_as_text_and_html_with_its_headers(smtp):
    job = a_job(address="ann@example.com", unsubscribe_url=UNSUB, text="Hello Ann\nhttp://x/m",
                html="<p>Hello <b>Ann</b></p>")
    await smtp_sender(smtp.port).send(job)
    (msg,) = await smtp.wait_for(1)
    assert msg["To"] == "ann@example.com" and msg["Subject"] == job.title
    assert msg.get_content_type() == "multipart/alternative"
    text, html = text_and_html(msg)
    assert "Hello Ann" in text and "<b>Ann</b>" in html
    assert msg["Message-ID"].endswith("@confero.test>")
    assert str(msg["List-Unsubscribe"]).strip() == f"<{UNSUB}>"  # a long header may be folded
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


async def test_the_same_job_always_has_the_same_message_id(smtp):
    job = a_job()
    sender = smtp_sender(smtp.port)
    await sender.send(job)
    await sender.send(job)
    a, b = await smtp.wait_for(2)
    assert a["Message-ID"] == b["Message-ID"]


async def test_a_kept_connection_the_server_dropped_is_replaced_without_failing_the_message(smtp):
    sender = smtp_sender(smtp.port)
    try:
        await sender.send(a_job(address="one@example.com"))
        smtp.stop()
        smtp.start()  # the same port: the idle connection the sender kept is dead now
        await sender.send(a_job(address="two@example.com"))
    finally:
        await sender.aclose()
    assert [m["To"] for m in await smtp.wait_for(2)] == ["one@example.com", "two@example.com"]


async def test_a_server_that_refuses_the_recipient_is_a_permanent_failure():
    server = SmtpServer(refuse=True).start()
    try:
        with pytest.raises(DeliveryRejected):
            await smtp_sender(server.port).send(a_job())
    finally:
        server.stop()


async def test_a_server_that_drops_the_connection_is_a_transient_failure():
    server = await DroppingServer().start()
    try:
        with pytest.raises(DeliveryFailed):
            await smtp_sender(server.port).send(a_job())
        assert server.connections >= 1
    finally:
        await server.stop()


async def test_no_server_at_all_is_a_transient_failure():
    server = SmtpServer()  # never started: nothing listens on its port
    with pytest.raises(DeliveryFailed):
        await smtp_sender(server.port).send(a_job())


async def test_the_embedded_mail_directory_gets_one_eml_file_per_job(tmp_path):
    sender = MailDirEmailSender(str(tmp_path), sender="noreply@confero.test", domain="confero.test")
    job = a_job(unsubscribe_url=UNSUB)
    await sender.send(job)
    await sender.send(job)
    (eml,) = list(tmp_path.glob("*.eml"))
    assert b"List-Unsubscribe" in eml.read_bytes() and job.title.encode() in eml.read_bytes()


@pytest.fixture
async def sms():
    provider = await SmsProvider("AC" + "1" * 32, "secret-token").start()
    yield provider
    await provider.stop()


def sms_sender(provider: SmsProvider, token: str = "secret-token") -> TwilioSmsSender:
    return TwilioSmsSender(provider.url, provider.sid, token, "+15550000000", timeout=5)


async def test_an_sms_reaches_the_provider_as_it_expects_it(sms):
    sender = sms_sender(sms)
    try:
        await sender.send(a_job(channel=Channel.SMS, address="+15551234567", link="http://x/m"))
    finally:
        await sender.aclose()
    assert sms.messages == [{"To": "+15551234567", "From": "+15550000000", "Body": "Hi\nhttp://x/m"}]


async def test_sms_refusals_are_permanent_and_provider_outages_transient(sms):
    sender = sms_sender(sms)
    try:
        with pytest.raises(DeliveryRejected):
            await sender.send(a_job(channel=Channel.SMS, address="555-1234"))
        sms.fail_next = 1
        with pytest.raises(DeliveryFailed):
            await sender.send(a_job(channel=Channel.SMS, address="+15551234567"))
        wrong = sms_sender(sms, token="wrong")
        with pytest.raises(DeliveryRejected):
            await wrong.send(a_job(channel=Channel.SMS, address="+15551234567"))
        await wrong.aclose()
    finally:
        await sender.aclose()
    assert sms.messages == []


@pytest.fixture
async def push():
    endpoint = await PushEndpoint().start()
    yield endpoint
    await endpoint.stop()


def vapid_key() -> str:
    v = Vapid()
    v.generate_keys()
    return v.private_pem().decode()


async def test_a_push_is_decrypted_by_the_endpoint_and_gone_subscriptions_are_dropped(push):
    user = UserId(new_id())
    subs = InMemoryPushSubscriptions()
    live, gone = push.subscription("a"), push.subscription("b")
    push.gone.add("b")
    for s in (live, gone):
        await subs.add(PushSubscription(user_id=user, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"],
                                        auth=s["keys"]["auth"]))
    sender = WebPushSender(subs, vapid_key(), "mailto:ops@confero.test", timeout=5)
    try:
        job = a_job(channel=Channel.PUSH, user_id=user, address=None, link="http://x/m")
        await sender.send(job)
    finally:
        await sender.aclose()
    (got,) = push.received
    assert got["id"] == "a" and got["payload"]["title"] == job.title and got["payload"]["url"] == "http://x/m"
    assert [s.endpoint for s in await subs.of_user(user)] == [live["endpoint"]]


async def test_an_unreachable_push_service_is_transient():
    user = UserId(new_id())
    subs = InMemoryPushSubscriptions()
    endpoint = PushEndpoint()  # not started
    s = endpoint.subscription("a")
    await subs.add(PushSubscription(user_id=user, endpoint=s["endpoint"], p256dh=s["keys"]["p256dh"],
                                    auth=s["keys"]["auth"]))
    sender = WebPushSender(subs, vapid_key(), "mailto:ops@confero.test", timeout=2)
    try:
        with pytest.raises(DeliveryFailed):
            await sender.send(a_job(channel=Channel.PUSH, user_id=user, address=None))
    finally:
        await sender.aclose()
