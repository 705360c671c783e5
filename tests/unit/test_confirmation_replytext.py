"""Only the customer's new words are read: quotes, reply headers and signatures are dropped."""

from services.confirmation.replytext import html_to_text, new_text


def test_quoted_lines_are_dropped() -> None:
    body = "Yes\n> Reply YES if it is resolved.\n> Reply NO if it is not.\n"
    assert new_text(body) == "Yes"


def test_everything_after_on_wrote_is_dropped() -> None:
    body = (
        "No, it is still broken.\r\n\r\n"
        "On Mon, 23 Nov 2026 at 10:00, Complaints <confirm@complaints.localhost> wrote:\r\n"
        "Is your complaint resolved?\r\nReply YES if it is resolved.\r\n"
    )
    assert new_text(body) == "No, it is still broken."


def test_a_wrapped_on_wrote_line_is_recognised() -> None:
    body = (
        "Resolved, thanks\n\nOn Mon, 23 Nov 2026 at 10:00, Complaints\n"
        "<confirm@x.test> wrote:\nReply YES"
    )
    assert new_text(body) == "Resolved, thanks"


def test_outlook_original_message_block_is_dropped() -> None:
    body = "not fixed\n\n-----Original Message-----\nFrom: Complaints\nReply YES if resolved"
    assert new_text(body) == "not fixed"


def test_outlook_from_block_is_dropped() -> None:
    body = "yes\n\n________________________________\nFrom: Complaints <c@x.test>\nReply YES"
    assert new_text(body) == "yes"


def test_chinese_reply_header_is_dropped() -> None:
    body = "已解决\n\n在 2026年11月23日 10:00，Complaints <c@x.test> 写道：\n请回复 YES"  # noqa: RUF001
    assert new_text(body) == "已解决"


def test_signature_is_dropped() -> None:
    assert new_text("Yes\n-- \nAna Lima\nReply YES anytime") == "Yes"


def test_text_without_quotes_is_kept_whole_and_trimmed() -> None:
    assert new_text("\n  It is resolved.\n\n\n\nThank you!  \n") == "It is resolved.\n\nThank you!"


def test_a_line_merely_starting_with_on_is_kept() -> None:
    assert new_text("On reflection, yes.\nThanks") == "On reflection, yes.\nThanks"


def test_html_reply_loses_its_quoted_block() -> None:
    html = (
        "<html><head><style>p {color: red}</style></head><body>"
        "<div>Yes, resolved<br>Ana</div>"
        '<div class="gmail_quote"><p>Reply YES if it is resolved</p></div>'
        "<blockquote><p>Reply NO if not</p></blockquote></body></html>"
    )
    text = new_text(html_to_text(html))
    assert text == "Yes, resolved\nAna"


def test_phone_signatures_are_dropped() -> None:
    assert new_text("Yes\n\nSent from my iPhone") == "Yes"
    assert new_text("已解决\n\n发自我的iPhone") == "已解决"
    assert new_text("Fixed\nGet Outlook for Android") == "Fixed"


def test_a_line_starting_with_from_but_no_address_is_kept() -> None:
    assert new_text("From: me\nYes") == "From: me\nYes"
