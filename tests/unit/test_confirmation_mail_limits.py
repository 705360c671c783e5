"""Reading inbound mail within limits; automatic mail and DMARC from the trusted host only."""

import time

import pytest

from services.confirmation import emails
from tests.support.hostile_mail import many_parts, nested

SUBJECT = "Re: Is your complaint CMP-AAAAAAAA resolved? [ref CMP-AAAAAAAA #ABCDEFGHJKLMNP]"
SENDER = "ana.lima@example.com"
TRUSTED = emails.MailLimits(trusted_authserv_id="mx.complaints.example")


def plain(headers: str = "", subject: str = SUBJECT, text: str = "Yes, resolved.") -> bytes:
    return (f"From: {SENDER}\r\nSubject: {subject}\r\n{headers}\r\n{text}\r\n").encode()


def test_a_plain_reply_is_read() -> None:
    parsed = emails.parse_reply(plain())
    assert parsed.refused is None and not parsed.automatic
    assert parsed.sender == SENDER and parsed.new_text == "Yes, resolved."


def test_150k_parts_are_refused_without_being_parsed() -> None:
    raw = many_parts(SUBJECT, SENDER, 150_000)
    assert len(raw) > 4_000_000
    started = time.process_time()
    parsed = emails.parse_reply(raw)
    # Parsing it takes minutes of processor time; refusing it is a count over the bytes.
    assert time.process_time() - started < 2.0
    assert parsed.refused == "too_many_parts"
    assert parsed.sender == SENDER and parsed.subject == SUBJECT and parsed.body == ""


def test_parts_within_the_prescan_but_over_the_limit_are_refused() -> None:
    parsed = emails.parse_reply(many_parts(SUBJECT, SENDER, 150), emails.MailLimits(max_parts=100))
    assert parsed.refused == "too_many_parts"
    assert emails.parse_reply(many_parts(SUBJECT, SENDER, 50)).refused is None


def test_deep_nesting_is_refused() -> None:
    assert emails.parse_reply(nested(SUBJECT, SENDER, 20)).refused == "too_deep"
    shallow = emails.parse_reply(nested(SUBJECT, SENDER, 3))
    assert shallow.refused is None and shallow.new_text.strip() == "yes"


def test_a_mail_over_the_size_limit_is_refused() -> None:
    raw = plain(text="yes " * 1000)
    assert emails.parse_reply(raw, emails.MailLimits(max_bytes=1000)).refused == "mail_too_large"


@pytest.mark.parametrize(
    ("headers", "subject", "rule"),
    [
        ("Auto-Submitted: auto-replied\r\n", SUBJECT, "auto_submitted"),
        ("Precedence: bulk\r\n", SUBJECT, "precedence"),
        ("Precedence: auto_reply\r\n", SUBJECT, "precedence"),
        ("Precedence: junk\r\n", SUBJECT, "precedence"),
        ("Precedence: list\r\n", SUBJECT, "precedence"),
        ("X-Autoreply: yes\r\n", SUBJECT, "x_autoreply"),
        ("X-Autorespond: yes\r\n", SUBJECT, "x_autoreply"),
        ("List-Id: <news.example.com>\r\n", SUBJECT, "mailing_list"),
        ("List-Unsubscribe: <mailto:u@example.com>\r\n", SUBJECT, "mailing_list"),
        ("", f"Out of Office: {SUBJECT}", "out_of_office_subject"),
        ("", f"Automatic reply: {SUBJECT}", "out_of_office_subject"),
        ("", f"AUTOREPLY {SUBJECT}", "out_of_office_subject"),
        ("", f"自动回复: {SUBJECT}", "out_of_office_subject"),
        ("", f"休假中 {SUBJECT}", "out_of_office_subject"),
    ],
)
def test_automatic_mail_is_recognised(headers: str, subject: str, rule: str) -> None:
    parsed = emails.parse_reply(plain(headers, subject))
    assert parsed.automatic and parsed.automatic_rule == rule


def test_auto_submitted_no_and_ordinary_precedence_are_a_person() -> None:
    parsed = emails.parse_reply(plain("Auto-Submitted: no\r\nPrecedence: normal\r\n"))
    assert not parsed.automatic and parsed.automatic_rule is None


def test_dmarc_counts_only_from_the_trusted_host() -> None:
    def dmarc(headers: str) -> str | None:
        return emails.parse_reply(plain(headers), TRUSTED).dmarc

    ours_pass = "Authentication-Results: mx.complaints.example; spf=pass; dmarc=pass\r\n"
    ours_fail = "Authentication-Results: MX.complaints.example 1; dmarc=fail (p=reject)\r\n"
    forged = "Authentication-Results: evil.example; dmarc=pass\r\n"
    assert dmarc(ours_pass) == "pass"
    assert dmarc(ours_fail) == "fail"
    assert dmarc(forged) is None
    # The trusted host's header is the one that counts, wherever a forged one sits.
    assert dmarc(forged + ours_fail) == "fail"
    assert dmarc("Authentication-Results: mx.complaints.example; spf=pass\r\n") == "none"
    assert dmarc("") is None
    # With no trusted host configured nobody's verdict is believed.
    assert emails.parse_reply(plain(ours_pass)).dmarc is None


def test_required_dmarc_needs_a_trusted_host() -> None:
    from pydantic import ValidationError

    from services.confirmation.settings import ConfirmationSettings

    assert not ConfirmationSettings(app_env="test").require_dmarc
    with pytest.raises(ValidationError, match="EMAIL_TRUSTED_AUTHSERV_ID"):
        ConfirmationSettings(app_env="test", email_require_dmarc=True)
    required = ConfirmationSettings(
        app_env="test", email_require_dmarc=True, email_trusted_authserv_id="mx.example"
    )
    assert required.require_dmarc
    # Replies only through the signed webhook: the provider's verdict is the one that counts.
    assert ConfirmationSettings(
        app_env="test", email_require_dmarc=True, smtp_listen_enabled=False
    ).require_dmarc
