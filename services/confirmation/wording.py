"""The words of every message to the customer, in the complaint's language. No I/O.

A complaint whose BCP 47 language is Chinese (`zh`, `zh-CN`, `zh-Hant-TW`, ...) is written to in
Chinese; any other, or none, in English.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.confirmation import emails, texts, texts_zh


@dataclass(frozen=True)
class Wording:
    language: str
    subject_line: Callable[[str, str], str]
    reminder_subject: Callable[[str, str], str]
    body_text: Callable[[str, str, str, str], str]
    sms_text: Callable[[str, str, str, str, int], str]
    link_text: Callable[[str, str, str, int], str]
    acknowledgement_subject: Callable[[str], str]
    acknowledgement_body: Callable[[str, str, datetime | None], str]
    acknowledgement_text: Callable[[str, str, datetime | None], str]
    message_subject: Callable[[str], str]
    message_body: Callable[[str, str | None, str | None, bool], str]
    survey_subject: Callable[[str], str]
    survey_body: Callable[[str, bool], str]


ENGLISH = Wording(
    language="en",
    subject_line=emails.subject_line,
    reminder_subject=texts.reminder_subject,
    body_text=emails.body_text,
    sms_text=texts.sms_text,
    link_text=texts.link_text,
    acknowledgement_subject=texts.acknowledgement_subject,
    acknowledgement_body=texts.acknowledgement_body,
    acknowledgement_text=texts.acknowledgement_text,
    message_subject=texts.message_subject,
    message_body=texts.message_body,
    survey_subject=texts.survey_subject,
    survey_body=texts.survey_body,
)
CHINESE = Wording(
    language="zh",
    subject_line=texts_zh.subject_line,
    reminder_subject=texts_zh.reminder_subject,
    body_text=texts_zh.body_text,
    sms_text=texts_zh.sms_text,
    link_text=texts_zh.link_text,
    acknowledgement_subject=texts_zh.acknowledgement_subject,
    acknowledgement_body=texts_zh.acknowledgement_body,
    acknowledgement_text=texts_zh.acknowledgement_text,
    message_subject=texts_zh.message_subject,
    message_body=texts_zh.message_body,
    survey_subject=texts_zh.survey_subject,
    survey_body=texts_zh.survey_body,
)


def is_chinese(language: str | None) -> bool:
    primary = (language or "").strip().replace("_", "-").split("-", 1)[0]
    return primary.lower() == "zh"


def wording_for(language: str | None) -> Wording:
    return CHINESE if is_chinese(language) else ENGLISH
