# ruff: noqa: RUF001  (Chinese punctuation is full-width by design)
"""What the customer reads in Chinese, for a complaint whose language is zh*. No I/O.

The shapes the replies are read by stay as in English: the subject ends with the reference and
the request's token in brackets, an SMS carries `#` and the six-symbol code, a link is the page
path with its token; YES and NO are understood beside 是 and 否.
"""

from datetime import UTC, datetime

from services.confirmation.texts import CANNOT_FULFIL, SMS_SUMMARY_LIMIT, _shorten


def subject_line(reference: str, token: str) -> str:
    return f"您的投诉 {reference} 是否已解决？ [ref {reference} #{token}]"


def reminder_subject(reference: str, token: str) -> str:
    return f"提醒：您的投诉 {reference} 是否已解决？ [ref {reference} #{token}]"


def body_text(reference: str, token: str, outcome: str, summary: str) -> str:
    if outcome == CANNOT_FULFIL:
        opening = f"关于您的投诉 {reference}：非常抱歉，我们无法满足您的要求。原因如下："
        question = "请告诉我们您已阅读此答复："
        yes = "回复“是”（YES）表示您已知悉。"
        no = "回复“否”（NO）表示您不接受，并请告诉我们原因。"
    else:
        opening = f"我们认为您的投诉 {reference} 已经解决。我们所做的处理如下："
        question = "您的投诉是否已解决？"
        yes = "如已解决，请回复“是”（YES）。"
        no = "如未解决，请回复“否”（NO），并告诉我们仍有什么问题。"
    return "\n".join(
        [
            "您好，",
            "",
            opening,
            "",
            summary.strip(),
            "",
            question,
            f"  * {yes}",
            f"  * {no}",
            "",
            "请直接回复此邮件，并保持邮件主题不变：主题中包含您的编号和一个验证码，",
            "用于确认答复来自您本人。在您答复之前，您的投诉将保持未结状态。",
            "",
            f"编号：{reference} #{token}",
            "",
        ]
    )


def sms_text(reference: str, token: str, outcome: str, summary: str, reminder: int = 0) -> str:
    lead = f"提醒{reminder}：" if reminder else ""
    summary = _shorten(summary, SMS_SUMMARY_LIMIT)
    if outcome == CANNOT_FULFIL:
        return (
            f"{lead}投诉 {reference}：抱歉，我们无法满足您的要求。{summary} "
            f"回复 是 #{token} 表示知悉，或回复 否 #{token} 表示不接受。"
        )
    return (
        f"{lead}投诉 {reference}：{summary} 问题是否已解决？"
        f"请回复 是 #{token} 或 否 #{token}。在您答复之前，投诉将保持未结状态。"
    )


def link_text(reference: str, url: str, outcome: str, reminder: int = 0) -> str:
    lead = f"提醒{reminder}：" if reminder else ""
    if outcome == CANNOT_FULFIL:
        return f"{lead}关于您的投诉 {reference}：我们无法满足您的要求。请在此查看原因并确认：{url}"
    return f"{lead}您的投诉 {reference} 是否已解决？请在此告诉我们：{url}"


def due_text(due_at: datetime | None) -> str:
    if due_at is None:
        return ""
    utc = due_at.astimezone(UTC)
    return f"{utc.year}年{utc.month}月{utc.day}日 {utc:%H:%M}（UTC）"


def acknowledgement_subject(reference: str) -> str:
    return f"我们已收到您的投诉 {reference} [ref {reference}]"


def acknowledgement_body(reference: str, team: str, due_at: datetime | None) -> str:
    expected = [f"我们争取在 {due_text(due_at)} 之前给您解决方案。", ""] if due_at else []
    return "\n".join(
        [
            "您好，",
            "",
            f"感谢您告诉我们。您的投诉已登记，编号为 {reference}。",
            "",
            f"您的投诉现由我们的 {team} 团队处理：从现在起到问题解决，由一位专人负责，",
            "您无需再次重复您的情况。",
            "",
            *expected,
            "有了解决方案后，我们会在这里写信给您，询问问题是否已经解决。",
            "在您确认已解决之前，您的投诉将保持未结状态。",
            "",
            "与我们联系时请注明此编号。",
            "",
            f"编号：{reference}",
            "",
        ]
    )


def acknowledgement_text(reference: str, team: str, due_at: datetime | None) -> str:
    expected = f"我们争取在 {due_text(due_at)} 之前解决。" if due_at else ""
    return (
        f"我们已收到您的投诉 {reference}，由 {team} 团队专人负责直至解决。"
        f"{expected}结案前我们会先征求您的确认。"
    )


FINAL_OUTCOMES = {
    "upheld": "我们支持您的投诉",
    "partially_upheld": "我们部分支持您的投诉",
    "not_upheld": "我们不支持您的投诉",
}


def final_response_subject(reference: str) -> str:
    return f"关于您的投诉 {reference} 的最终答复 [ref {reference}]"


def final_response_body(reference: str, outcome: str, reasons: str, referral: str) -> str:
    # The referral rights are the profile's, in English: the regulator's own words.
    return "\n".join(
        [
            "您好，",
            "",
            f"这是我们对您的投诉 {reference} 的最终答复：{FINAL_OUTCOMES[outcome]}。",
            "",
            reasons.strip(),
            "",
            referral.strip(),
            "",
            f"编号：{reference}",
            "",
        ]
    )


MESSAGE_TEMPLATES = {
    "update": "我们正在处理您的投诉，特此告知目前的进展。",
    "need_information": "为了继续处理您的投诉，我们需要您提供一些信息："
    "请回复本消息，提供下面所要求的内容。",
    "delay": "您的投诉处理时间比我们告知的要长，对此我们深表歉意。"
    "负责人没有变化，一有进展我们会再次联系您。",
}


def message_subject(reference: str) -> str:
    return f"关于您的投诉 {reference} [ref {reference}]"


def message_body(reference: str, template: str | None, text: str | None, short: bool) -> str:
    said = [part.strip() for part in (MESSAGE_TEMPLATES.get(template or ""), text) if part]
    if short:
        return f"{reference}：" + "".join(said)
    return "\n".join(
        ["您好，", "", *[p for part in said for p in (part, "")], f"编号：{reference}", ""]
    )


def survey_subject(reference: str) -> str:
    return f"您对投诉 {reference} 的处理满意吗？ [ref {reference}]"


def survey_body(reference: str, short: bool) -> str:
    if short:
        return (
            f"投诉 {reference} 已结案。您对我们的处理满意吗？"
            "请回复 1（很差）到 5（很好）的数字，也可附上意见。"
        )
    return "\n".join(
        [
            "您好，",
            "",
            f"感谢您确认投诉 {reference} 已经解决。",
            "",
            "您对我们的处理满意吗？请回复 1（很差）到 5（很好）的数字，也可以附上几句意见。",
            "这不会改变您的投诉。",
            "",
            f"编号：{reference}",
            "",
        ]
    )
