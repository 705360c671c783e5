"""Tokens, whose reply counts, and the email we write: rules without I/O."""

import email
import email.policy

import pytest

from services.confirmation import domain, emails
from services.confirmation.domain import Reason, RequestFacts, Status
from shared.events import Channel

ANA = "Ana.Lima@example.com"


def test_tokens_are_random_copyable_and_stored_only_as_a_hash() -> None:
    tokens = {domain.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in list(tokens)[:50]:
        assert len(token) == domain.TOKEN_LENGTH
        assert set(token) <= set(domain.TOKEN_ALPHABET)
        digest = domain.hash_token(token, "secret-a")
        assert digest == domain.hash_token(token.lower(), "secret-a")
        assert len(digest) == 64 and token not in digest
        # Keyed: without the secret the hash is not the plain SHA-256 an offline search tries.
        assert digest != domain.hash_token(token, "secret-b") != domain.legacy_hash(token)
    assert len(domain.TOKEN_ALPHABET) ** domain.TOKEN_LENGTH >= 2**64


def test_token_is_found_in_subject_before_body_and_can_be_redacted() -> None:
    subject = "Re: Is your complaint CMP-1 resolved? [ref CMP-1 #ABCDEFGHJKLMNP]"
    body = "yes\n> Reference: CMP-1 #QRSTUVWXYZ2345"
    assert domain.find_token(subject, body) == "ABCDEFGHJKLMNP"
    assert domain.find_token("Re: resolved?", body) == "QRSTUVWXYZ2345"
    assert domain.find_token("Re: resolved?", "#SHORT #ABCDEFGHJKLMNPQ") is None
    # A forged or mangled token in the subject is not replaced by the one in the quote.
    assert domain.find_token("Re: resolved? [#AAAAAAAAAA]", body) == "AAAAAAAAAA"
    assert domain.find_token("Re: [ref CMP-1 #abc]", body) == "ABC"
    assert (
        domain.redact_tokens(subject)
        == "Re: Is your complaint CMP-1 resolved? [ref CMP-1 #[token]]"
    )


@pytest.mark.parametrize(
    ("candidates", "matches"),
    [
        ((ANA,), True),
        (("ana.lima@EXAMPLE.com", "Ana.Lima@example.COM"), True),
        (("ana.lima@example.com", "mallory@example.net"), False),
        (("mallory@example.net",), False),
        ((ANA, ""), False),
        ((None,), False),
        (("not an address",), False),
    ],
)
def test_sender_must_be_the_original_address(
    candidates: tuple[str | None, ...], matches: bool
) -> None:
    assert domain.same_address(ANA, *candidates) is matches


def pending(channel: str = "email") -> RequestFacts:
    return RequestFacts(status=Status.pending, channel=channel, contact=ANA)


@pytest.mark.parametrize(
    ("request_", "senders", "automatic", "reason"),
    [
        (None, (ANA,), False, Reason.unknown_token),
        (pending("sms"), (ANA,), False, Reason.wrong_channel),
        (RequestFacts(Status.rejected, "email", ANA), (ANA,), False, Reason.token_used),
        (RequestFacts(Status.superseded, "email", ANA), (ANA,), False, Reason.token_used),
        (RequestFacts(Status.closed, "email", ANA), (ANA,), False, Reason.token_used),
        (pending(), (ANA,), True, Reason.auto_reply),
        (pending(), ("mallory@example.net",), False, Reason.sender_mismatch),
        (pending(), (ANA, "mallory@example.net"), False, Reason.sender_mismatch),
        (pending(), (ANA, ANA.lower()), False, None),
    ],
)
def test_a_reply_counts_only_on_a_live_token_from_the_original_address(
    request_: RequestFacts | None,
    senders: tuple[str, ...],
    automatic: bool,
    reason: Reason | None,
) -> None:
    assert domain.refusal(request_, Channel.email, senders, automatic) == reason


def test_every_channel_is_either_messaged_or_attested() -> None:
    assert set(Channel) == domain.MESSAGE_CHANNELS | domain.ATTESTED_CHANNELS
    assert not domain.MESSAGE_CHANNELS & domain.ATTESTED_CHANNELS
    assert domain.LINK_CHANNELS <= domain.MESSAGE_CHANNELS


def test_evidence_is_trimmed_capped_and_carries_no_token() -> None:
    text = "  yes #ABCDEFGHJKLMNP " + "x" * 3000
    assert domain.evidence(text).startswith("yes #[token] x")
    assert len(domain.evidence(text)) == domain.EVIDENCE_LIMIT


def test_confirmation_email_says_how_to_answer() -> None:
    subject = emails.subject_line("CMP-ABCD2345", "ABCDEFGHJKLMNP")
    assert subject == "Is your complaint CMP-ABCD2345 resolved? [ref CMP-ABCD2345 #ABCDEFGHJKLMNP]"
    body = emails.body_text("CMP-ABCD2345", "ABCDEFGHJKLMNP", "resolved", "We refunded you.")
    assert "We refunded you." in body and "Reply YES if it is resolved." in body
    assert "Reply NO if it is not" in body and "keep the subject line" in body
    refusal = emails.body_text("CMP-ABCD2345", "ABCDEFGHJKLMNP", "cannot_fulfil", "The law.")
    assert "cannot do what you asked" in refusal and "Reply YES to acknowledge it." in refusal


def test_email_goes_out_with_reply_to_and_an_unfolded_subject() -> None:
    subject = emails.subject_line("CMP-ABCD2345", "ABCDEFGHJKLMNP")
    message = emails.build_message(
        sender="Complaints <confirm@complaints.localhost>",
        reply_to="confirm@complaints.localhost",
        recipient=ANA,
        subject=subject,
        body="已解决 summary",
        message_id=emails.new_message_id("Complaints <confirm@complaints.localhost>"),
    )
    raw, utf8 = emails.wire_bytes(message)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert not utf8 and raw.isascii()
    assert parsed["Subject"] == subject and parsed["Reply-To"] == "confirm@complaints.localhost"
    assert parsed["Message-ID"].endswith("@complaints.localhost>")
    assert parsed.get_content().strip() == "已解决 summary"


def test_parsed_reply_separates_new_text_from_the_quote() -> None:
    raw = (
        b"From: Ana Lima <Ana.Lima@example.com>\r\n"
        b"Subject: Re: Is your complaint CMP-1 resolved? [ref CMP-1 #ABCDEFGHJKLMNP]\r\n"
        b"Auto-Submitted: no\r\n"
        b"Message-ID: <r1@example.com>\r\n\r\n"
        b"Yes\r\n\r\nOn Mon, Complaints wrote:\r\n> Reply YES\r\n"
    )
    reply = emails.parse_reply(raw)
    assert reply.sender == ANA and reply.new_text == "Yes" and not reply.automatic
    assert "Reply YES" in reply.body and reply.message_id == "<r1@example.com>"


def test_garbage_is_parsed_without_raising() -> None:
    reply = emails.parse_reply(b"\x00\xff not an email at all")
    assert reply.sender is None and reply.new_text == reply.body
