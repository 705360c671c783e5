"""Channel rules of the closure gate: signatures, numbers, codes, attestations, audits. No I/O."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.confirmation import domain, webhooks
from services.confirmation.audits import choose_auditor, sampled
from services.confirmation.domain import Reason, RequestFacts, Status, Verdict
from services.confirmation.settings import ConfirmationSettings
from shared.events import Channel

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
SECRET = "s3cret"
BODY = b"From=%2B14155552671&Body=yes"


def stamp(seconds_ago: int = 0) -> str:
    return str(int(NOW.timestamp()) - seconds_ago)


def test_a_correctly_signed_fresh_call_is_trusted() -> None:
    signature = webhooks.sign(SECRET, stamp(), BODY)
    assert webhooks.check(SECRET, signature, stamp(), BODY, NOW, 300) is None
    assert webhooks.check(SECRET, signature.upper(), stamp(), BODY, NOW, 300) is None


@pytest.mark.parametrize(
    ("signature", "timestamp", "body", "reason"),
    [
        (None, stamp(), BODY, Reason.missing_signature),
        (webhooks.sign(SECRET, stamp(), BODY), None, BODY, Reason.missing_signature),
        (webhooks.sign("other", stamp(), BODY), stamp(), BODY, Reason.bad_signature),
        (webhooks.sign(SECRET, stamp(), BODY), stamp(), BODY + b"!", Reason.bad_signature),
        (webhooks.sign(SECRET, stamp(), BODY), stamp(1), BODY, Reason.bad_signature),
        (webhooks.sign(SECRET, stamp(301), BODY), stamp(301), BODY, Reason.stale_timestamp),
        (webhooks.sign(SECRET, stamp(-301), BODY), stamp(-301), BODY, Reason.stale_timestamp),
        (webhooks.sign(SECRET, "soon", BODY), "soon", BODY, Reason.bad_signature),
    ],
)
def test_unsigned_forged_or_stale_calls_are_refused(
    signature: str | None, timestamp: str | None, body: bytes, reason: Reason
) -> None:
    assert webhooks.check(SECRET, signature, timestamp, body, NOW, 300) == reason


def test_numbers_are_compared_in_e164() -> None:
    assert domain.canonical_number("+1 (415) 555-2671") == "+14155552671"
    assert domain.same_number("+14155552671", "+1 415 555 2671")
    assert not domain.same_number("+14155552671", "+14155552672")
    assert not domain.same_number("+14155552671", None)
    assert domain.canonical_number("not a number") is None


def test_sms_codes_are_short_found_only_behind_a_hash_and_redacted() -> None:
    token = domain.token_for(Channel.sms)
    assert len(token) == domain.SMS_TOKEN_LENGTH
    assert len(domain.token_for(Channel.web)) == domain.TOKEN_LENGTH
    assert domain.find_sms_token(f"yes #{token.lower()}") == token
    assert domain.find_sms_token("THANKS yes") is None
    assert domain.redact_tokens(f"yes #{token}") == "yes #[token]"


def sms_request(**changes: object) -> RequestFacts:
    fields: dict[str, object] = {
        "status": Status.pending,
        "channel": "sms",
        "contact": "+14155552671",
    }
    return RequestFacts(**{**fields, **changes})  # type: ignore[arg-type]


def test_sms_reply_must_come_from_the_original_number() -> None:
    assert domain.refusal(sms_request(), Channel.sms, ("+1 415 555 2671",)) is None
    assert domain.refusal(sms_request(), Channel.sms, ("+14155550000",)) == Reason.sender_mismatch
    assert domain.refusal(sms_request(), Channel.email, ("+14155552671",)) == Reason.wrong_channel


def test_a_link_answers_only_before_it_expires() -> None:
    link = RequestFacts(Status.pending, "web", "a@example.com", expires_at=NOW)
    assert domain.refusal(link, Channel.web, (None,), now=NOW - timedelta(seconds=1)) is None
    assert domain.refusal(link, Channel.web, (None,), now=NOW) == Reason.token_expired
    assert domain.refusal(link, Channel.chat, (None,), now=NOW) == Reason.wrong_channel


def test_attestation_needs_the_current_owner_an_in_person_channel_and_fitting_evidence() -> None:
    phone = RequestFacts(Status.pending, "phone", "+14155552671")
    assert domain.attestation_refusal(phone, "bob", "bob", "call_reference") is None
    assert domain.attestation_refusal(phone, "bob", "alice", "call_reference") == Reason.not_owner
    assert (
        domain.attestation_refusal(phone, "bob", "bob", "letter_scan") == Reason.evidence_mismatch
    )
    used = RequestFacts(Status.confirmed, "phone", "+14155552671")
    assert domain.attestation_refusal(used, "bob", "bob", "call_reference") == Reason.token_used
    email = RequestFacts(Status.pending, "email", "a@example.com")
    assert domain.attestation_refusal(email, "bob", "bob", "call_reference") == Reason.wrong_channel
    # Nobody answers an in-person request by message.
    assert domain.refusal(phone, Channel.phone, ("+14155552671",)) == Reason.wrong_channel


def test_a_message_channel_is_attested_only_once_the_customer_left_it_to_the_owner() -> None:
    email = RequestFacts(Status.pending, "email", "a@example.com")
    stuck = RequestFacts(Status.pending, "email", "a@example.com", needs_owner=True)
    ref = "<r1@example.com>"
    assert (
        domain.attestation_refusal(email, "bob", "bob", "message_id", ref) == Reason.wrong_channel
    )
    assert domain.attestation_refusal(stuck, "bob", "bob", "message_id", ref) is None
    assert domain.attestation_refusal(stuck, "bob", "ann", "message_id", ref) == Reason.not_owner
    assert (
        domain.attestation_refusal(stuck, "bob", "bob", "message_id", "r1")
        == Reason.evidence_mismatch
    )
    assert (
        domain.attestation_refusal(stuck, "bob", "bob", "call_reference", "C-1")
        == Reason.evidence_mismatch
    )
    sms = RequestFacts(Status.pending, "sms", "+14155552671", needs_owner=True)
    assert domain.attestation_refusal(sms, "bob", "bob", "sender_number", "+1 415 555 2671") is None
    assert (
        domain.attestation_refusal(sms, "bob", "bob", "sender_number", "+14155550000")
        == Reason.sender_mismatch
    )
    spent = RequestFacts(Status.unclear, "web", "a@example.com", needs_owner=True)
    assert domain.attestation_refusal(spent, "bob", "bob", "transcript_ref", "T-9") is None
    answered = RequestFacts(Status.confirmed, "web", "a@example.com", needs_owner=True)
    assert (
        domain.attestation_refusal(answered, "bob", "bob", "transcript_ref", "T-9")
        == Reason.token_used
    )
    # In person, an unclear attestation leaves the request pending, not `unclear`.
    phone = RequestFacts(Status.unclear, "phone", "+14155552671", needs_owner=True)
    assert (
        domain.attestation_refusal(phone, "bob", "bob", "call_reference", "C-1")
        == Reason.token_used
    )


@pytest.mark.parametrize("text", ["ok", "OK, understood", "收到", "知道了\uff0c谢谢", "Yes"])
def test_acknowledging_a_cannot_fulfil_answer(text: str) -> None:
    assert domain.classify_reply(text, acknowledging=True) == Verdict.yes


@pytest.mark.parametrize("text", ["ok", "understood", "收到"])
def test_an_acknowledgement_is_no_yes_to_a_resolution(text: str) -> None:
    assert domain.classify_reply(text) == Verdict.unclear


@pytest.mark.parametrize("text", ["not ok", "I do not accept this", "不明白", "ok?"])
def test_a_refused_or_doubtful_acknowledgement_is_not_yes(text: str) -> None:
    assert domain.classify_reply(text, acknowledging=True) != Verdict.yes


def test_audits_sample_closed_cases_at_their_rates() -> None:
    settings = ConfirmationSettings(audit_sample_rate=0.05, audit_attested_sample_rate=0.25)
    rng = random.Random(42)
    plain = sum(sampled(rng, settings, attested=False) for _ in range(20_000)) / 20_000
    attested = sum(sampled(rng, settings, attested=True) for _ in range(20_000)) / 20_000
    assert 0.04 < plain < 0.06 and 0.23 < attested < 0.27


def test_the_owner_never_audits_their_own_case() -> None:
    rng = random.Random(1)
    picks = {choose_auditor(rng, ["bob", "alice", "carol"], "bob") for _ in range(200)}
    assert picks == {"alice", "carol"}
    assert choose_auditor(rng, ["bob"], "bob") is None
    assert choose_auditor(rng, [], "bob") is None
