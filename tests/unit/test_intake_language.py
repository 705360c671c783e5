"""The language of a complaint without one, read from its text; unknown rather than wrong."""

import pytest

from services.intake.language import detect


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I was charged twice for the same purchase and nobody answers my calls.", "en"),
        ("我的信用卡被重复扣款了两次\uff0c客服一直没有回复\uff0c请尽快处理。", "zh"),
        ("二重に請求されました。返金してください。", "ja"),
        ("退款还没到账", "zh"),
        ("Me cobraron dos veces por la misma compra y nadie me contesta.", "es"),
        ("On m'a facturé deux fois le même achat et personne ne répond.", "fr"),
        ("Tôi bị trừ tiền hai lần cho cùng một giao dịch.", "vi"),
    ],
)
def test_a_clear_text_names_its_language(text: str, language: str) -> None:
    assert detect(text) == language


@pytest.mark.parametrize("text", ["ok", "Parcel", "12345 678", "!!!", "", "   "])
def test_too_little_to_judge_is_unknown(text: str) -> None:
    assert detect(text) is None
