"""What a reply means: yes, no or unclear, in English and Chinese. No I/O.

Never guesses yes: any doubt, question or negation prevents it, and the customer's own words
are read, never the quoted question.
"""

import re
from enum import StrEnum


class Verdict(StrEnum):
    yes = "yes"
    no = "no"
    unclear = "unclear"
    rejected = "rejected"  # the message was not accepted as an answer; `reason` says why


_POSITIVE_EN = r"(?:resolved|fixed|sorted|solved|good|fine|working|ok|okay)"
_NEGATOR_EN = (
    r"(?:not|never|no|no longer|nothing|"
    r"(?:is|was|are|were|has|have|had|did|does|do|ca|wo|could|should|would)n'?t|cannot)"
)
# A negator followed within three words by a positive word: "not resolved", "no, not sorted".
_NEGATED_EN = re.compile(rf"\b{_NEGATOR_EN}\b(?:\W+\w+){{0,3}}?\W+{_POSITIVE_EN}\b")
_NEGATED_ZH = re.compile(
    r"(?:还没有|還沒有|还没|還沒|没有|沒有|并未|並未|没|沒|未|不)"
    r"[^\uff0c。,.!\uff01?\uff1f\s]{0,3}?"
    r"(?:解决|解決|好|修复|修復|处理|處理)"
)
# Idioms that contain a negation but deny nothing about the outcome.
_IDIOMS = re.compile(r"\bno (?:problems?|worries)\b|没问题|沒問題|没关系|沒關係")
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|maybe|perhaps|partly|partially|kind of|sort of|i think|"
    r"i guess|don'?t know|not really|yes and no)\b"
    r"|不确定|不確定|可能|也许|也許|不知道|部分|一部分|差不多"
)
_YES_EN = re.compile(r"\b(?:yes|yeah|yep|yup|resolved|fixed|sorted|solved|all good|all sorted)\b")
_YES_ZH = re.compile(
    r"已解决|已經解決|已经解决|已解決|解决了|解決了|好了|^是的?(?:$|[\uff0c。,.!\uff01\s])"
)
_NO_EN = re.compile(rf"\b(?:{_NEGATOR_EN}|nope|still|unresolved|broken|haven'?t received|wrong)\b")
_NO_ZH = re.compile(r"否|没|沒|未|不")
# Acknowledging a "cannot fulfil" answer: the customer has read it, not that it is resolved.
_ACK = re.compile(
    r"\b(?:ok|okay|understood|acknowledged|noted|got it|i understand|thanks|thank you)\b"
    r"|收到|知道了|明白|了解|好的|谢谢|謝謝"
)


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u2019", "'").casefold()).strip()


def doubts(text: str) -> bool:
    return bool(_UNSURE.search(_normalised(text)))


def denies(text: str) -> bool:
    """Any negation in the customer's words ("还没收到", "not yet"), whatever else they say."""
    clean = _IDIOMS.sub(" ", _normalised(text))
    return bool(
        _NEGATED_EN.search(clean)
        or _NEGATED_ZH.search(clean)
        or _NO_EN.search(clean)
        or _NO_ZH.search(clean)
    )


def classify_reply(text: str, acknowledging: bool = False) -> Verdict:
    """Yes, no or unclear. Never guesses yes: any doubt, question or negation prevents it.

    `acknowledging` reads the answer to a "cannot fulfil" message, where "ok" or "收到" is the
    customer's acknowledgement and therefore a yes.
    """
    clean = _normalised(text)
    if not clean or _UNSURE.search(clean):
        return Verdict.unclear
    asks = any(mark in clean for mark in ("?", "\uff1f", "吗", "嗎"))  # a question is no answer
    clean = _IDIOMS.sub(" ", clean)
    negated = bool(_NEGATED_EN.search(clean) or _NEGATED_ZH.search(clean))
    rest = _NEGATED_ZH.sub(" ", _NEGATED_EN.sub(" ", clean)).strip()
    says_yes = bool(_YES_EN.search(rest) or _YES_ZH.search(rest))
    says_yes = says_yes or (acknowledging and bool(_ACK.search(rest)))
    says_no = negated or bool(_NO_EN.search(rest) or _NO_ZH.search(rest))
    if says_yes and not says_no and not asks:
        return Verdict.yes
    if says_no and not says_yes:
        return Verdict.no
    return Verdict.unclear


def asks(text: str) -> bool:
    return any(mark in text for mark in ("?", "\uff1f", "吗", "嗎"))


def meaning(text: str, choice: Verdict | None, acknowledging: bool) -> Verdict:
    """A typed reply is read; a button (the page, an attestation) can only be made less sure.

    A "yes" button with a comment that denies anything, doubts or asks is not a clear yes.
    """
    said = classify_reply(text, acknowledging) if text.strip() else None
    if choice is None:
        return said or Verdict.unclear
    if choice == Verdict.yes and (denies(text) or doubts(text) or asks(text)):
        return Verdict.unclear
    return choice
