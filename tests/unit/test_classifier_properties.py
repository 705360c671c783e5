"""Properties: whatever yes it is added to, a failure, a condition, a threat, the future,
sarcasm, hedging or a request never reads as yes, in either mode, on a button as well."""

from hypothesis import given, settings
from hypothesis import strategies as st

from services.confirmation import classifier, domain
from services.confirmation.classifier import MAX_NEW_WORDS, Verdict, meaning, read_reply
from tests.data.replies import load

YESES = sorted({s.text for s in load() if s.label == "yes" and "\n" not in s.text})
SPOILERS = {
    "failure": [
        "the heating stopped working again",
        "but the hot water is broken now",
        "I was charged twice",
        "still waiting for the refund",
        "far from resolved",
        "there is a new problem with the meter",
        "还是不行",
        "又坏了",
        "退款还没到",
        "not the fee though",
    ],
    "condition": [
        "if the refund arrives",
        "once the engineer comes",
        "as soon as I get my money",
        "provided it stays fixed",
        "unless it breaks again",
        "如果明天还好的话",
        "等退款到账",
        "只要不再出问题",
    ],
    "future": [
        "I'll check tomorrow",
        "will be resolved next week",
        "I will let you know",
        "going to test it later",
        "明天再看看",
        "我会检查一下",
    ],
    "threat": [
        "I am taking this to the ombudsman",
        "my lawyer will be in touch",
        "I have reported you to the regulator",
        "see you in small claims court",
        "I'm going to the press",
        "我要投诉到12315",
        "我会找媒体曝光",
        "已经投诉到消协",
    ],
    "sarcasm": ["yeah right", "lol", "as if", "NOT", "呵呵", "才怪", "🙄", "oh great"],
    "hedging": ["I think", "maybe", "kind of", "for now", "好像", "差不多", "应该吧", "暂时"],
    "request": [
        "please send an engineer",
        "can you also refund the fee",
        "I need someone to call me",
        "请再派人来",
        "麻烦再处理一下",
        "but I want compensation",
    ],
}
PHRASES = [phrase for phrases in SPOILERS.values() for phrase in phrases]
SEPARATORS = [", ", ". ", " ", "\n", "\uff0c", "! ", " - ", "\n\n"]


def _cased(text: str, how: str) -> str:
    return {"upper": text.upper(), "lower": text.lower(), "same": text}[how]


@settings(max_examples=1500, deadline=None)
@given(
    yes=st.sampled_from(YESES),
    phrase=st.sampled_from(PHRASES),
    separator=st.sampled_from(SEPARATORS),
    before=st.booleans(),
    how=st.sampled_from(["same", "upper", "lower"]),
)
def test_a_spoiled_yes_is_never_yes(
    yes: str, phrase: str, separator: str, before: bool, how: str
) -> None:
    text = _cased(f"{phrase}{separator}{yes}" if before else f"{yes}{separator}{phrase}", how)
    for acknowledging in (False, True):
        assert read_reply(text, acknowledging).verdict != Verdict.yes, text
        assert meaning(text, Verdict.yes, acknowledging) != Verdict.yes, text


@settings(max_examples=500, deadline=None)
@given(
    yeses=st.lists(st.sampled_from(YESES), min_size=1, max_size=3),
    phrase=st.sampled_from(PHRASES),
    at=st.integers(min_value=0, max_value=3),
)
def test_a_spoiler_anywhere_among_yeses_is_never_yes(
    yeses: list[str], phrase: str, at: int
) -> None:
    parts = list(yeses)
    parts.insert(min(at, len(parts)), phrase)
    text = ", ".join(parts)
    assert read_reply(text).verdict != Verdict.yes, text
    assert read_reply(text, acknowledging=True).verdict != Verdict.yes, text


# Noise on one line: a line break before ">" makes the rest a quote, which is rightly not read.
ONE_LINE = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=60)


@settings(max_examples=300, deadline=None)
@given(noise=ONE_LINE, phrase=st.sampled_from(PHRASES))
def test_any_text_with_a_spoiler_is_never_yes(noise: str, phrase: str) -> None:
    for text in (f"{noise} {phrase}", f"{phrase} {noise}", f"yes {noise} {phrase}"):
        assert read_reply(text).verdict != Verdict.yes, text
        assert read_reply(text, acknowledging=True).verdict != Verdict.yes, text


def test_a_reply_longer_than_the_cap_is_unclear_whatever_it_says() -> None:
    text = "Yes, resolved, thanks. " * (MAX_NEW_WORDS // 10)
    reading = read_reply(text)
    assert (reading.verdict, reading.rule) == (Verdict.unclear, "too_long")


def test_a_yes_button_keeps_a_courteous_comment_and_loses_an_unknown_one() -> None:
    assert meaning("Thanks a lot!", Verdict.yes, acknowledging=False) == Verdict.yes
    assert meaning("Fixed, thank you", Verdict.yes, acknowledging=False) == Verdict.yes
    assert meaning("The engineer came", Verdict.yes, acknowledging=False) == Verdict.unclear


def test_the_code_copied_from_our_message_says_nothing_and_a_hashtag_is_no_code() -> None:
    assert (classifier.TOKEN_ALPHABET, classifier.TOKEN_LENGTHS) == (
        domain.TOKEN_ALPHABET,
        (domain.SMS_TOKEN_LENGTH, domain.TOKEN_LENGTH),
    )
    code = "K7Q2XA"
    for text in (f"YES #{code}", f"yes #{code.lower()}", "Resolved #ABCDEFGHJKLMNP"):
        assert read_reply(text).verdict == Verdict.yes, text
    assert read_reply(f"NO #{code}").verdict == Verdict.no
    for text in ("Resolved #notfixed", "Resolved #hatred", "fixed #sarcasm", "yes #upsets"):
        assert read_reply(text).verdict != Verdict.yes, text
