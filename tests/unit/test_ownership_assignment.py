"""Assignment rules: availability, skills, language, free capacity, the same owner, the lead."""

from services.ownership.domain import Candidate, Needs, keeps_previous_owner, pick_owner

BILLING = Needs(frozenset({"billing"}), "fr")


def test_the_owner_with_the_most_free_capacity_wins() -> None:
    pool = [Candidate("alice", 8, capacity=10), Candidate("bob", 10, capacity=20)]
    assert pick_owner(pool, "maria", Needs()) == ("bob", "most_free_capacity")


def test_away_owners_are_never_chosen() -> None:
    pool = [Candidate("alice", 0, away=True), Candidate("bob", 9)]
    assert pick_owner(pool, "maria", Needs())[0] == "bob"


def test_owners_need_the_skill_and_the_language_when_they_list_them() -> None:
    pool = [
        Candidate("alice", 0, skills=("delivery",), languages=("fr",)),
        Candidate("bob", 0, skills=("Billing",), languages=("en",)),
        Candidate("carol", 5, skills=("billing",), languages=("fr", "en")),
        Candidate("dave", 9),
    ]
    assert pick_owner(pool, "maria", BILLING)[0] == "carol"
    assert pick_owner(pool[:2], "maria", BILLING) == ("maria", "team_lead")
    # Owners without listed skills or languages take anything.
    assert pick_owner(pool[:2] + pool[3:], "maria", BILLING)[0] == "dave"


def test_the_customers_previous_owner_is_kept_when_they_are_available() -> None:
    again = Needs(frozenset({"billing"}), None)
    assert keeps_previous_owner(Candidate("bob", 30, capacity=40), again)
    assert not keeps_previous_owner(Candidate("bob", 3, away=True), again)
    assert not keeps_previous_owner(Candidate("bob", 40, capacity=40), again)
    assert not keeps_previous_owner(None, again)


def test_the_previous_owner_keeps_the_customer_in_another_topic_but_needs_their_language() -> None:
    cards = Candidate("bob", 0, skills=("cards",), languages=("fr",))
    assert keeps_previous_owner(cards, Needs(frozenset({"billing"}), "fr"))
    assert not keeps_previous_owner(cards, Needs(frozenset({"billing"}), "en"))


def test_nobody_fitting_means_the_team_lead_never_nobody() -> None:
    pool = [Candidate("alice", 5, capacity=5), Candidate("bob", 0, away=True)]
    assert pick_owner(pool, "maria", Needs()) == ("maria", "team_lead")
    assert pick_owner([], "maria", Needs()) == ("maria", "team_lead")


def test_owners_on_shift_go_first_and_off_shift_owners_only_when_nobody_is_working() -> None:
    night = Candidate("alice", 0, capacity=50, on_shift=False)
    day = Candidate("bob", 9, capacity=10)
    assert pick_owner([night, day], "maria", Needs())[0] == "bob"
    full = Candidate("bob", 10, capacity=10)
    assert pick_owner([night, full], "maria", Needs())[0] == "alice"
