"""The customer's new words in a reply: quoted history and signatures removed. No I/O.

A reply quotes our question ("Reply YES if ..."), so reading the whole body would find answers
the customer never wrote; only what they typed above the quote counts.
"""

import re
from html.parser import HTMLParser

_QUOTE_HEADERS = [
    re.compile(r"^\s*-{2,}\s*(original message|forwarded message)\s*-{2,}", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's rule above the quoted "From:" block
    re.compile(r"^\s*在.{2,120}(写道|寫道)\s*[:\uff1a]\s*$"),
    re.compile(r"^\s*-- ?$"),  # the signature delimiter
    # What a phone or mail app appends below the customer's words.
    re.compile(
        r"^\s*(sent from my|sent from mail for|sent from outlook|get outlook for|"
        r"sent from yahoo mail|发自我的|發自我的|"
        r"(从|從)我的\s*(iphone|ipad|android|手机|手機)\S*\s*(发送|發送))",
        re.IGNORECASE,
    ),
]
# A reply header "From: Name <address>". Matched without a regex over the whole line: the
# pattern `From:.*x@y` backtracks quadratically on a long line with no "@".
_FROM_HEADER = re.compile(r"\s*(from|sent|发件人|寄件者)\s*[:\uff1a]", re.IGNORECASE)
_ON_WROTE = re.compile(r"^\s*on\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL)


# The first letters of every header above; other lines are not tried against the patterns.
_HEADER_STARTS = frozenset("-_fsgo在发發从從寄")


def _starts_quote(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.lstrip()[:1].lower() not in _HEADER_STARTS:
        return False
    if any(p.match(line) for p in _QUOTE_HEADERS):
        return True
    header = _FROM_HEADER.match(line)
    if header and "@" in line[header.end() :]:
        return True
    if not line.strip().lower().startswith("on "):
        return False
    # Clients wrap a long "On <date>, <name> <address> wrote:" over two or three lines.
    if "wrote:" not in " ".join(lines[i : i + 3]).lower():
        return False
    return any(_ON_WROTE.match(" ".join(lines[i : i + n])) for n in (1, 2, 3))


def new_text(body: str) -> str:
    """The text the customer wrote above any quoted message, trimmed."""
    return split_new(body)[0]


def split_new(body: str) -> tuple[str, bool]:
    """The customer's new words, and whether a quoted message or signature ended them."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    ended = False
    for i, line in enumerate(lines):
        if _starts_quote(lines, i):
            ended = True
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip(), ended


class _TextOfHtml(HTMLParser):
    _BREAKS = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}
    _SKIPPED = {"blockquote", "style", "script", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def _quoted(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        classes = " ".join(v or "" for k, v in attrs if k == "class")
        return tag in self._SKIPPED or "gmail_quote" in classes or "moz-cite" in classes

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipping or self._quoted(tag, attrs):
            if tag not in {"br", "img", "hr", "meta", "link", "input"}:
                self._skipping.append(tag)
            return
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            if self._skipping[-1] == tag:
                self._skipping.pop()
            return
        if tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Plain text of an HTML-only reply, leaving out quoted blocks."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.split("\n"))
