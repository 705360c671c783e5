# ruff: noqa: RUF001  (Chinese punctuation is full-width by design)
"""The words by language: Chinese for zh*, English otherwise, in shapes the replies are read by."""

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from services.confirmation import domain, emails, texts
from services.confirmation.wording import CHINESE, ENGLISH, wording_for

REF, TOKEN, CODE = "CMP-ABCD2345", "ABCDEFGHJKLMNP", "K7Q2XA"


@pytest.mark.parametrize("language", ["zh", "zh-CN", "ZH-tw", "zh_Hans", " zh-Hant-TW "])
def test_chinese_tags_choose_chinese(language: str) -> None:
    assert wording_for(language) is CHINESE


@pytest.mark.parametrize("language", [None, "", "en", "en-GB", "fr-CA", "zha", "yue"])
def test_every_other_tag_keeps_english(language: str | None) -> None:
    assert wording_for(language) is ENGLISH


def test_english_words_are_the_ones_sent_before() -> None:
    assert ENGLISH.subject_line(REF, TOKEN) == emails.subject_line(REF, TOKEN)
    assert ENGLISH.sms_text(REF, CODE, "resolved", "Refunded.", 0) == texts.sms_text(
        REF, CODE, "resolved", "Refunded."
    )


@pytest.mark.parametrize("subject", [CHINESE.subject_line, CHINESE.reminder_subject])
def test_chinese_subjects_keep_the_reference_and_token_block(
    subject: Callable[[str, str], str],
) -> None:
    line = subject(REF, TOKEN)
    assert line.endswith(f"[ref {REF} #{TOKEN}]")
    assert domain.find_token(f"回复：{line}", "") == TOKEN
    assert emails.automatic_rule(lambda _: "", f"回复：{line}") is None


def test_chinese_sms_and_links_carry_their_codes() -> None:
    for outcome in ("resolved", "cannot_fulfil"):
        for reminder in (0, 1):
            sms = CHINESE.sms_text(REF, CODE, outcome, "已退款。", reminder)
            assert domain.find_sms_token(sms) == CODE and REF in sms
            assert sms.startswith("提醒1：") == bool(reminder)
    link = CHINESE.link_text(REF, "https://x.example/c/abc", "resolved", 2)
    assert link.startswith("提醒2：") and link.endswith("https://x.example/c/abc")
    refusal = CHINESE.body_text(REF, TOKEN, "cannot_fulfil", "法律不允许。")
    assert "无法满足您的要求" in refusal and "法律不允许。" in refusal and f"#{TOKEN}" in refusal


def test_acknowledgements_carry_no_token() -> None:
    due = datetime(2026, 12, 4, 15, 30, tzinfo=UTC)
    for words in (ENGLISH, CHINESE):
        texts_sent = [
            words.acknowledgement_subject(REF),
            words.acknowledgement_body(REF, "billing", due),
            words.acknowledgement_text(REF, "billing", due),
            words.acknowledgement_body(REF, "billing", None),
        ]
        for text in texts_sent:
            assert REF in text and "#" not in text
            assert domain.find_token(text, text) is None and domain.find_sms_token(text) is None
    assert "04 December 2026, 15:30 UTC" in ENGLISH.acknowledgement_text(REF, "billing", due)
    assert "2026年12月4日 15:30（UTC）" in CHINESE.acknowledgement_text(REF, "billing", due)


def test_a_chinese_subject_travels_as_ascii_and_reads_back_whole() -> None:
    subject = CHINESE.subject_line(REF, TOKEN)
    message = emails.build_message(
        sender="Complaints <confirm@complaints.localhost>",
        reply_to="confirm@complaints.localhost",
        recipient="li.wei@example.com",
        subject=subject,
        body=CHINESE.body_text(REF, TOKEN, "resolved", "已退款。"),
        message_id="<m1@complaints.localhost>",
    )
    raw, utf8 = emails.wire_bytes(message)
    assert raw.isascii() and not utf8
    assert email.message_from_bytes(raw, policy=email.policy.default)["Subject"] == subject
    answer = EmailMessage()
    answer["From"], answer["Subject"] = "li.wei@example.com", f"回复：{subject}"
    answer["Message-ID"] = "<r1@example.com>"
    answer.set_content("是的，已经解决了\n\n在 2026年12月3日，Complaints 写道：\n> 您好")
    reply = answer.as_bytes(policy=email.policy.SMTP)
    parsed = emails.parse_reply(reply)
    assert parsed.subject == f"回复：{subject}" and not parsed.automatic
    assert domain.find_token(parsed.subject, parsed.body) == TOKEN
    assert domain.classify_reply(parsed.new_text) == domain.Verdict.yes
