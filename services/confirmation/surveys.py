"""After the customer's yes, one question on the same channel: how did we do, 1 to 5?

Asked once per complaint, when the case closes on the customer's own yes by email or SMS (an
attested closure was said to the owner, not written on a channel we can ask on; a case closed
with the one it was merged into is asked there). The question
carries no token: the answer comes back like any tokenless reply, attributed to its complaint
(customer_messages.py). When that complaint has an unanswered question and the reply opens
with a score, it is the answer: kept, announced as `customer.satisfaction_given`, and never
read as anything else. The closure does not depend on it in any way.
"""

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, select, update

from services.confirmation.models import complaints
from services.confirmation.models import surveys as survey_table
from services.confirmation.outbound import SURVEY, queue_tokenless
from services.confirmation.reactions import ComplaintNotYetKnown
from services.confirmation.settings import ConfirmationSettings
from services.confirmation.wording import wording_for
from shared.events import CaseClosed, Channel, CustomerSatisfactionGiven, Envelope, new_event
from shared.logging import get_logger
from shared.statements import insert
from shared.uow import UnitOfWork

log = get_logger(__name__)
PRODUCER = "confirmation"
ASKED_ON = frozenset({Channel.email, Channel.sms})
COMMENT_LIMIT = 1_000
ANSWER_WINDOW = timedelta(days=14)

_DIGITS = {**{str(n): n for n in range(1, 6)}, **{chr(0xFF10 + n): n for n in range(1, 6)}}
_DIGITS.update({"一": 1, "二": 2, "三": 3, "四": 4, "五": 5})
_N = r"^\s*(?P<n>[1-5\uff11-\uff15一二三四五])"
# The score opens the reply and stands alone: "5", "5!", "2 - slow", "1. Terrible", "4, thanks",
# "5" on a line of its own;
# or with its scale, then anything: "4/5 good", "3 out of 5", "5 stars", "五分, 很满意".
# A number running into a word or another number ("3 times I called", "10", "5.5") is none.
_SCALED = re.compile(
    _N + r"\s*(?:/\s*[5\uff15]|(?:out\s+)?of\s+5|stars?|分|星)(?P<rest>(?:\W.*)?)$",
    re.IGNORECASE | re.DOTALL,
)
_BARE = re.compile(
    _N + r"(?P<rest>\s*|\s*(?:[-\u2013\u2014:;,!)\u3002\uff0c\uff01\uff1a]|\.(?!\d)).*"
    r"|[ \t]*\r?\n.*)$",
    re.IGNORECASE | re.DOTALL,
)
# Or bare, then words that judge rather than count: "5 great service", "1 terrible, still
# waiting" — but "3 times I called", "2 weeks to fix it", "5 days late" count something.
_WORDED = re.compile(_N + r"[ \t]+(?P<rest>(?P<word>[^\W\d_]+).*)$", re.DOTALL)
_COUNTED_WORDS = """
    time times day days week weeks month months year years hour hours hr hrs minute minutes
    min mins second seconds call calls calling email emails mail mails letter letters
    message messages text texts visit visits people person persons agent agents staff item
    items unit units order orders parcel parcels package packages card cards charge charges
    transaction transactions payment payments attempt attempts tries try dollars dollar
    pounds pound euros euro usd gbp eur cents percent pct more less or to and x am pm k th
    st nd rd business working calendar separate different other of out in hundred thousand
    million grand bucks new previous
"""
_COUNTED = frozenset(_COUNTED_WORDS.split())
_COUNTED_ZH = "次天日周週月年个個小分秒通封位名笔筆元块塊"
_STARS = re.compile(r"^\s*(?P<stars>★{1,5})☆*(?P<rest>(?:\W.*)?)$", re.DOTALL)
_SEPARATORS = " \t\r\n-\u2013\u2014:;,.!)\u3002\uff0c\uff01\uff1a"


def read_score(text: str) -> tuple[int, str | None] | None:
    """(score, comment) when the text opens with a score from 1 to 5, else None. No I/O."""
    if found := _STARS.match(text):
        score = len(found.group("stars"))
    elif found := _SCALED.match(text) or _BARE.match(text) or _judged(text):
        score = _DIGITS[found.group("n")]
    else:
        return None
    comment = found.group("rest").lstrip(_SEPARATORS).strip()
    return score, (comment[:COMMENT_LIMIT] or None)


def _judged(text: str) -> re.Match[str] | None:
    found = _WORDED.match(text)
    if found is None:
        return None
    word = found.group("word")
    if word.lower() in _COUNTED or word[0] in _COUNTED_ZH:
        return None
    return found


async def ask(
    uow: UnitOfWork, envelope: Envelope, settings: ConfirmationSettings, now: datetime
) -> None:
    """Queue the question once, when the case closed on the customer's own yes."""
    data = envelope.parsed()
    assert isinstance(data, CaseClosed)
    if not settings.survey_enabled or data.attested or data.with_case:
        return
    complaint_id = str(envelope.complaint_id)
    query = select(complaints).where(complaints.c.id == complaint_id)
    complaint = (await uow.conn.execute(query)).first()
    if complaint is None:
        raise ComplaintNotYetKnown(f"complaint {complaint_id} has not been received yet")
    channel = Channel(complaint.channel)
    if channel not in ASKED_ON:
        return
    asked = await uow.conn.execute(
        insert(uow.conn, survey_table)
        .values(complaint_id=complaint_id, channel=channel.value, asked_at=now)
        .on_conflict_do_nothing()
    )
    if not asked.rowcount:
        return  # asked already: a complaint gets one question, however often it closes
    words, short = wording_for(complaint.language), channel != Channel.email
    await queue_tokenless(
        uow.conn,
        complaint,
        SURVEY,
        "" if short else words.survey_subject(complaint.reference),
        words.survey_body(complaint.reference, short),
        settings,
        envelope.correlation_id,
        now,
    )
    log.info("survey_queued", complaint_id=complaint_id, channel=channel.value)


async def take_answer(
    uow: UnitOfWork,
    complaint: Row[Any],
    reply: Any,
    text: str,
    inbound_id: str,
) -> bool:
    """Keep and announce the reply as the answer to the complaint's open question, if it is
    one: on the question's channel, in time, opening with a score."""
    read = read_score(text)
    if read is None:
        return False
    s = survey_table.c
    since = reply.received_at - ANSWER_WINDOW
    score, comment = read
    answered = await uow.conn.execute(
        update(survey_table)
        .where(
            s.complaint_id == complaint.id,
            s.channel == reply.channel.value,
            s.answered_at.is_(None),
            s.asked_at >= since,
            s.asked_at <= reply.received_at,
        )
        .values(answered_at=reply.received_at, score=score, comment=comment, inbound_id=inbound_id)
    )
    if answered.rowcount != 1:
        return False
    data = CustomerSatisfactionGiven(
        inbound_id=inbound_id,
        channel=reply.channel,
        score=score,
        comment=comment,
        answered_at=reply.received_at,
    )
    uow.emit(
        new_event("customer.satisfaction_given", data, producer=PRODUCER, complaint_id=complaint.id)
    )
    log.info("survey_answered", complaint_id=complaint.id, score=score)
    return True
