"""Subscriptions and share permissions between members (chapter 07 §1–2, §6).

A asks the target for a subscription, then cancels it; B may not speak for
A, nor change a subscription it is no party to. A asks permission to pass
on the notice the operator sent it; permission for a notice the target
never sent A is refused.
"""

from __future__ import annotations

from baliza.node.conformance.checks import Run, check
from baliza.node.conformance.outbox import operators_notice
from baliza.node.conformance.verdict import Failed
from baliza.node.core.clock import new_envelope_id, now_ms
from baliza.protocol.canonical import decode, encode
from baliza.protocol.ids import AgencyId, EnvelopeId
from baliza.protocol.subscriptions import (
    PermissionRequest,
    SubscriptionFilter,
    SubscriptionRequest,
    SubscriptionState,
    SubscriptionUpdate,
)

SUBSCRIPTIONS = "/fed/v1/subscriptions"
STATE = "/fed/v1/subscriptions/state"
PERMISSIONS = "/fed/v1/permissions"


def _request(run: Run, subscriber: str = "a", publisher: str | None = None) -> SubscriptionRequest:
    return SubscriptionRequest(
        id=new_envelope_id(),
        subscriber=AgencyId(run.kit[subscriber].agency),
        publisher=AgencyId(publisher or run.kit.target.agency),
        filter=SubscriptionFilter(kinds=("notice.seizure",), programmes=("ccp",)),
        created_ms=now_ms(),
        note="Conformance suite",
    )


async def _subscribed(run: Run) -> SubscriptionRequest:
    """A subscription A asked for in this run (asked once)."""
    known = run.facts.get("subscription")
    if isinstance(known, SubscriptionRequest):
        return known
    request = _request(run)
    answer = await run.target.call(run.kit["a"], "POST", SUBSCRIPTIONS, request.to_bytes())
    got = answer.expect_ok(f"POST {SUBSCRIPTIONS}").json()
    states = {SubscriptionState.PENDING.value, SubscriptionState.ADMITTED.value}
    if not isinstance(got, dict) or got.get("id") != request.id or got.get("state") not in states:
        raise Failed(f"expected {{id: {request.id}, state: pending|admitted}}, got {got}")
    run.facts["subscription"] = request
    return request


def _update(request: SubscriptionRequest, state: SubscriptionState) -> bytes:
    return SubscriptionUpdate(
        id=EnvelopeId(request.id),
        publisher=request.publisher,
        subscriber=request.subscriber,
        state=state,
        at_ms=now_ms(),
    ).to_bytes()


@check("subscriptions", "request", "07 §1", "A asks for a subscription: 200, its id and state")
async def request(run: Run) -> None:
    await _subscribed(run)


@check("subscriptions", "for-another", "07 §1", "A asks in B's name: 403 forbidden")
async def for_another(run: Run) -> None:
    body = _request(run, subscriber="b").to_bytes()
    answer = await run.target.call(run.kit["a"], "POST", SUBSCRIPTIONS, body)
    answer.expect_refusal("forbidden", 403)


@check("subscriptions", "wrong-publisher", "07 §1", "addressed to B's node: 403 wrong_destination")
async def wrong_publisher(run: Run) -> None:
    body = _request(run, publisher=run.kit["b"].agency).to_bytes()
    answer = await run.target.call(run.kit["a"], "POST", SUBSCRIPTIONS, body)
    answer.expect_refusal("wrong_destination", 403)


@check("subscriptions", "unknown-field", "07 §1", "a request with an extra field: unknown_field")
async def unknown_field(run: Run) -> None:
    fields = decode(_request(run).to_bytes())
    assert isinstance(fields, dict)
    fields["priority"] = 1
    answer = await run.target.call(run.kit["a"], "POST", SUBSCRIPTIONS, encode(fields))
    answer.expect_refusal("unknown_field", 422)


@check("subscriptions", "third-party-change", "07 §2", "B cancels A's subscription: forbidden")
async def third_party_change(run: Run) -> None:
    subscription = await _subscribed(run)
    body = _update(subscription, SubscriptionState.CANCELLED)
    answer = await run.target.call(run.kit["b"], "POST", STATE, body)
    answer.expect_refusal("forbidden", 403)


@check("subscriptions", "update-unknown", "07 §2", "a change to a subscription never made: refused")
async def update_unknown(run: Run) -> None:
    body = _update(_request(run), SubscriptionState.CANCELLED)
    answer = await run.target.call(run.kit["a"], "POST", STATE, body)
    # The chapter allows either answer for a subscription the two nodes do not share.
    if (answer.status, answer.reason) not in ((404, "not_found"), (403, "forbidden")):
        raise Failed(f"expected 404 not_found or 403 forbidden, got {answer.short()}")


@check("subscriptions", "cancel", "07 §2", "the subscriber cancels: 200; again: 409 conflict")
async def cancel(run: Run) -> None:
    subscription = await _subscribed(run)
    body = _update(subscription, SubscriptionState.CANCELLED)
    answer = await run.target.call(run.kit["a"], "POST", STATE, body)
    got = answer.expect_ok(f"POST {STATE}").json()
    if got != {"ok": True}:
        raise Failed(f"expected {{ok: true}}, got {got}")
    again = await run.target.call(
        run.kit["a"], "POST", STATE, _update(subscription, SubscriptionState.CANCELLED)
    )
    again.expect_refusal("conflict", 409)


@check(
    "subscriptions", "subscriber-decides", "07 §2", "the subscriber admits itself: 403 forbidden"
)
async def subscriber_decides(run: Run) -> None:
    request = _request(run)
    answer = await run.target.call(run.kit["a"], "POST", SUBSCRIPTIONS, request.to_bytes())
    answer.expect_ok(f"POST {SUBSCRIPTIONS}")
    body = _update(request, SubscriptionState.ADMITTED)
    refused = await run.target.call(run.kit["a"], "POST", STATE, body)
    # Pending or already admitted by policy: either way not the subscriber's decision.
    refused.expect_refusal("forbidden", 403)


def _permission(run: Run, envelope: str, requester: str = "a") -> bytes:
    return PermissionRequest(
        id=new_envelope_id(),
        envelope=EnvelopeId(envelope),
        requester=AgencyId(run.kit[requester].agency),
        originator=AgencyId(run.kit.target.agency),
        recipients=(AgencyId(run.kit["b"].agency),),
        created_ms=now_ms(),
        note="Conformance suite",
    ).to_bytes()


@check("subscriptions", "permission-asked", "07 §6", "A asks to pass on what it got: pending")
async def permission_asked(run: Run) -> None:
    item = await operators_notice(run)
    answer = await run.target.call(
        run.kit["a"], "POST", PERMISSIONS, _permission(run, item.envelope.id)
    )
    got = answer.expect_ok(f"POST {PERMISSIONS}").json()
    if got != {"state": "pending"}:
        raise Failed(f"expected {{state: pending}}, got {got}")


@check(
    "subscriptions",
    "permission-not-received",
    "07 §6",
    "for a notice A never got: 403 not_a_recipient",
)
async def permission_not_received(run: Run) -> None:
    answer = await run.target.call(
        run.kit["a"], "POST", PERMISSIONS, _permission(run, new_envelope_id())
    )
    answer.expect_refusal("not_a_recipient", 403)


@check("subscriptions", "permission-for-another", "07 §6", "A asks in B's name: 403 forbidden")
async def permission_for_another(run: Run) -> None:
    item = await operators_notice(run)
    body = _permission(run, item.envelope.id, requester="b")
    answer = await run.target.call(run.kit["a"], "POST", PERMISSIONS, body)
    answer.expect_refusal("forbidden", 403)
