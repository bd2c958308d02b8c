"""The notification rules as pure functions: who is told, the RED rule, what a mail says."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from baliza.node.services.filters import live_test, parse_filters
from baliza.node.services.rules import notify as rules
from baliza.protocol.errors import UsageError

RECEIVED = {
    "id": "n1",
    "direction": "in",
    "kind": "notice.seizure",
    "sender": "co.polfa.ctg",
    "programme": "ccp",
    "refs": [{"type": "container", "value": "MSCU1234566"}],
    "facets": [],
    "created_ms": 1,
}


@pytest.mark.parametrize(
    ("what", "value", "query"),
    [
        ("container", "MSCU 123456 6", "container=MSCU+123456+6"),
        ("IMO", "IMO 9074729", "vessel=IMO+9074729"),
        ("vessel", "9074729", "vessel=9074729"),
        ("flight", "IB6454", "flight=IB6454"),
        ("awb", "020-12345675", "awb=020-12345675"),
        ("company", "Frutas Estrecho", "company=Frutas+Estrecho"),
        ("person", "García López Juan", "person=Garc%C3%ADa+L%C3%B3pez+Juan"),
        ("document", "PA:123456", "document=PA%3A123456"),
        ("filter", "?programme=ccp&commodity=cocaine", "programme=ccp&commodity=cocaine"),
        ("all", "", ""),
    ],
)
def test_a_watch_is_the_api_query_of_the_same_name(what: str, value: str, query: str) -> None:
    assert rules.watch_query(what, value) == query
    parse_filters(dict(parse_qsl(query)), "stream")  # the API reads it as it is


@pytest.mark.parametrize(
    ("what", "value", "path"),
    [("spaceship", "x", "what"), ("container", "  ", "value"), ("filter", "x" * 501, "value")],
)
def test_an_unusable_watch_is_refused_naming_the_field(what: str, value: str, path: str) -> None:
    with pytest.raises(UsageError) as refused:
        rules.watch_query(what, value)
    assert refused.value.path == path


def test_a_watch_matches_by_the_live_streams_own_test() -> None:
    wanted = parse_filters(
        dict(parse_qsl(rules.watch_query("container", "MSCU 123456 6"))), "stream"
    )
    other = parse_filters(
        dict(parse_qsl(rules.watch_query("container", "TGHU 001234 9"))), "stream"
    )
    tests = {"w1": live_test(wanted, "sqlite"), "w2": live_test(other, "sqlite")}
    assert all(t is not None for t in tests.values())
    told = rules.watched_by(
        RECEIVED,
        [("user:a", "w1"), ("user:b", "w2"), ("user:a", "w3")],
        lambda wid: wid == "w3" or bool(tests[wid] and tests[wid](RECEIVED)),  # type: ignore[misc]
    )
    # One notification per owner, naming the first of their matching entries.
    assert told == {"user:a": "w1"}


def test_a_notice_this_agency_sent_tells_no_watcher() -> None:
    sent = RECEIVED | {"direction": "out"}
    assert rules.watched_by(sent, [("user:a", "w1")], lambda _w: True) == {}


def test_hits_tell_the_people_who_published_the_other_notice_here() -> None:
    publishers = {"mine": ["user:a", "user:b"], "theirs": ["user:c"]}
    hits = [("mine", "es.aduanas.alg"), ("theirs", "co.polfa.ctg")]
    assert rules.hit_owners(hits, "es.aduanas.alg", publishers) == {"user:a", "user:b"}
    assert rules.hit_owners([], "es.aduanas.alg", publishers) == set()


@pytest.mark.parametrize(
    ("email", "mode", "tlp", "allow_red", "state"),
    [
        ("a@x.example", "immediate", "amber", False, "queued"),
        ("a@x.example", "digest", "green", False, "pending"),
        ("a@x.example", "immediate", "red", False, "none"),
        ("a@x.example", "digest", "red", False, "none"),
        ("a@x.example", "immediate", "red", True, "queued"),
        ("a@x.example", "off", "amber", False, "none"),
        (None, "immediate", "amber", False, "none"),
    ],
)
def test_mail_state_and_the_red_rule(
    email: str | None, mode: str, tlp: str, allow_red: bool, state: str
) -> None:
    assert rules.mail_state(email, mode, tlp, allow_red) == state


def test_a_mail_says_kind_place_and_handling_and_nothing_else() -> None:
    facts = [
        rules.Facts(
            cause="watch", subject="e1", kind="notice.seizure", location="ESALG", tlp="amber"
        ),
        rules.Facts(cause="hit", subject="e2", kind="notice.alert", location=None, tlp="green"),
    ]
    subject, body = rules.mail_text("Aduanas Algeciras", facts, "https://alg.example/")
    assert subject == "[Baliza Aduanas Algeciras] 2 new notifications"
    assert "- seizure notice, ESALG, TLP:AMBER: matches your watch list." in body
    assert "https://alg.example/console/notices/e1" in body
    assert "- pre-arrival alert, no place given, TLP:GREEN" in body
    assert "carries no notice content" in body


def test_alerts_due_soon_and_backoff_and_digest() -> None:
    hour = 3_600_000
    assert rules.due_soon(10 * hour + hour, 10 * hour, answered=False)
    assert not rules.due_soon(10 * hour + hour, 10 * hour, answered=True)
    assert not rules.due_soon(10 * hour + 3 * hour, 10 * hour, answered=False)
    assert not rules.due_soon(10 * hour - 1, 10 * hour, answered=False)  # already overdue
    tries = [rules.next_try(n, 0) for n in range(1, 12)]
    assert tries[:3] == [30_000, 60_000, 120_000] and tries[-1] == hour
    assert tries == sorted(tries)
    assert rules.digest_due(0, hour, hour) and not rules.digest_due(1, hour, hour)
