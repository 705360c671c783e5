"""Property: no sequence of inbound messages closes a case except a valid same-channel yes
(or the acknowledgement of a "cannot fulfil" answer). Runs the gate's pure decision logic."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.confirmation import domain
from services.confirmation.domain import ANSWER_STATUS, Reason, RequestFacts, Status, Verdict
from shared.events import Channel

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
CONTACTS = {
    Channel.email: "ana.lima@example.com",
    Channel.sms: "+14155552671",
    Channel.web: "ana.lima@example.com",
    Channel.chat: "ana.lima@example.com",
}
STRANGERS = {Channel.email: "mallory@example.com", Channel.sms: "+14155550000"}
CLEAR_YES = ["yes", "Yes, resolved", "thanks, all sorted", "fixed", "是", "已解决", "解决了"]
ACKNOWLEDGE = ["ok", "understood", "收到", "知道了"]
NEVER_YES = [
    "no",
    "not resolved",
    "still not received",
    "is it resolved?",
    "maybe",
    "not sure it is fixed",
    "没有解决",
    "还没收到",
    "否",
    "没有",
    "yes and no",
    "resolved? not really",
    "",
]
TRANSPORT = [None, Reason.missing_signature, Reason.bad_signature, Reason.stale_timestamp]
TRANSPORT += [Reason.replayed]


@dataclass(frozen=True)
class Inbound:
    same_channel: bool
    other_channel: Channel
    from_customer: bool
    token_known: bool
    late: bool
    automatic: bool
    transport: Reason | None
    text: str
    button: Verdict | None


texts = st.one_of(
    st.sampled_from(CLEAR_YES + ACKNOWLEDGE + NEVER_YES),
    st.tuples(st.sampled_from(CLEAR_YES), st.sampled_from(NEVER_YES[:12])).map(
        lambda pair: f"{pair[0]}, {pair[1]}"
    ),
    st.text(max_size=40),
)
mostly = st.sampled_from([True, True, True, False])
rarely = st.sampled_from([False, False, False, True])
messages = st.builds(
    Inbound,
    same_channel=mostly,
    other_channel=st.sampled_from(list(Channel)),
    from_customer=mostly,
    token_known=mostly,
    late=rarely,
    automatic=rarely,
    transport=st.sampled_from([None, None, None, None, *TRANSPORT[1:]]),
    text=texts,
    button=st.sampled_from([None, Verdict.yes, Verdict.no]),
)


def channel_of(message: Inbound, channel: Channel) -> Channel:
    return channel if message.same_channel else message.other_channel


def valid(message: Inbound, channel: Channel, status: Status, link_expires: bool) -> bool:
    """Everything the gate must require before it may read a message as the customer's."""
    return (
        channel_of(message, channel) == channel
        and channel in domain.MESSAGE_CHANNELS
        and (message.from_customer or channel in domain.LINK_CHANNELS)
        and message.token_known
        and not (message.late and link_expires)
        and not message.automatic
        and message.transport is None
        and status == Status.pending
    )


@settings(max_examples=600, deadline=None)
@given(
    channel=st.sampled_from(list(Channel)),
    outcome=st.sampled_from(["resolved", "cannot_fulfil"]),
    inbound=st.lists(messages, max_size=8),
)
def test_only_a_valid_same_channel_yes_ever_closes(
    channel: Channel, outcome: str, inbound: list[Inbound]
) -> None:
    status = Status.pending
    expires = NOW + timedelta(days=14) if channel in domain.LINK_CHANNELS else None
    closes = 0
    for message in inbound:
        request = RequestFacts(status, channel.value, CONTACTS.get(channel, "owner"), expires)
        request = RequestFacts(
            request.status, request.channel, request.contact, request.expires_at, outcome
        )
        arrived_on = channel_of(message, channel)
        contact = CONTACTS.get(arrived_on, "x")
        sender = contact if message.from_customer else STRANGERS.get(arrived_on, "x")
        when = NOW + timedelta(days=15 if message.late else 1)
        verdict, reason = domain.gate(
            request if message.token_known else None,
            arrived_on,
            (sender,),
            message.text,
            automatic=message.automatic,
            now=when,
            transport=message.transport,
            choice=message.button,
        )
        if verdict == Verdict.yes:
            assert reason is None
            assert valid(message, channel, status, expires is not None)
            typed_yes = domain.classify_reply(message.text, outcome == "cannot_fulfil")
            assert message.button == Verdict.yes or typed_yes == Verdict.yes
            assert message.text not in NEVER_YES[:-1]
            if message.button is None and outcome == "resolved":
                assert message.text not in ACKNOWLEDGE
            closes += 1
        if reason is None and verdict in ANSWER_STATUS:
            status = ANSWER_STATUS[verdict]
        elif reason is None and channel in domain.LINK_CHANNELS:
            status = Status.unclear
    assert closes <= 1


@settings(max_examples=300, deadline=None)
@given(yes=st.sampled_from(CLEAR_YES + ACKNOWLEDGE), doubt=st.sampled_from(NEVER_YES[:-1]))
def test_a_yes_mixed_with_a_negation_or_doubt_is_never_yes(yes: str, doubt: str) -> None:
    for text in (f"{yes}, {doubt}", f"{doubt}. {yes}"):
        assert domain.classify_reply(text) != Verdict.yes
        assert domain.classify_reply(text, acknowledging=True) != Verdict.yes
