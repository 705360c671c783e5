"""The language a complaint is written in, when the front end did not say: read from its text.

py3langid's model (langid.py, 97 languages) on the description; a guess is kept only when the
model is confident and the text long enough to judge, else the language stays unknown (and the
customer is written to in English). What the front end sends always wins.
"""

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MIN_CHARACTERS = 12
MIN_CONFIDENCE = 0.8


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str | None:
    """The ISO 639-1 code of the text's language, or None when it cannot be told."""
    sample = " ".join(text.split())[:2_000]
    letters = sum(ch.isalpha() for ch in sample)
    han = sum("\u4e00" <= ch <= "\u9fff" for ch in sample)
    kana = sum("\u3040" <= ch <= "\u30ff" for ch in sample)
    if han >= 4 and not kana and han * 2 >= letters:
        return "zh"  # mostly Chinese characters and no Japanese kana: the script says it
    if letters < MIN_CHARACTERS:
        return None
    language, confidence = _identifier().classify(sample)
    return str(language) if confidence >= MIN_CONFIDENCE else None
