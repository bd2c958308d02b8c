"""The console's routes, each with the role it needs, checked by the route table.

Every page declares ``Credential.SESSION``: the same roles as the API, proven
by the session cookie, and a CSRF token on every form it accepts. Only
sign-in is public.
"""

from __future__ import annotations

from aiohttp import web

from baliza.node.console import (
    account,
    admin,
    analyst,
    auth,
    custody,
    exports,
    imports,
    inbox,
    officer,
    people,
    places,
    preferences,
    shares,
    watching,
    workflows,
)
from baliza.node.console.web import PREFIX, home, static_file
from baliza.node.http.routes import Access, Credential, Handler, Route


async def find_places(request: web.Request) -> web.Response:
    """Seaports and airports matching ``q``, for the pickers."""
    found = places.find(request.query.get("q", ""))
    return web.json_response(
        [{"code": p.code, "name": p.name, "kind": p.kind, "tz": p.tz} for p in found]
    )


def _page(method: str, path: str, handler: Handler, access: Access) -> Route:
    return Route(method, PREFIX + path, handler, access, credential=Credential.SESSION)


ROUTES = (
    Route("GET", "/", home, Access.PUBLIC),
    # `/console` without its slash, as people type it: to the console.
    Route("GET", PREFIX, home, Access.PUBLIC),
    Route("GET", PREFIX + "/static/{name}", static_file, Access.PUBLIC),
    Route("GET", PREFIX + "/sign-in", auth.sign_in_form, Access.PUBLIC),
    Route("POST", PREFIX + "/sign-in", auth.sign_in_submit, Access.PUBLIC),
    Route("POST", PREFIX + "/sign-in/key", auth.key_sign_in_begin, Access.PUBLIC),
    Route("POST", PREFIX + "/sign-in/key/finish", auth.key_sign_in_finish, Access.PUBLIC),
    Route("GET", PREFIX + "/preferences", preferences.page, Access.PUBLIC),
    _page("POST", "/sign-out", auth.sign_out_submit, Access.ANALYST),
    _page("GET", "/", analyst.feed, Access.ANALYST),
    _page("GET", "/notices/{id}", analyst.notice, Access.ANALYST),
    _page("POST", "/notices/{id}/read", analyst.mark_read, Access.ANALYST),
    _page("GET", "/notices/{id}/delivery", analyst.delivery, Access.ANALYST),
    _page("GET", "/notices/{id}/custody", custody.download, Access.ANALYST),
    _page("GET", "/notices/{id}/attachments/{sha256}", officer.attachment, Access.ANALYST),
    _page("GET", "/places", find_places, Access.ANALYST),
    _page("GET", "/board", analyst.board, Access.ANALYST),
    _page("GET", "/inbox", inbox.inbox, Access.ANALYST),
    _page("POST", "/inbox/{id}", inbox.change, Access.ANALYST),
    # Files out, written by the service the API's exports call (see ``exports``).
    _page("GET", "/export", exports.choose, Access.ANALYST),
    _page("GET", "/export/notices.{format}", exports.notices, Access.ANALYST),
    _page("GET", "/export/alerts.{format}", exports.alerts, Access.ANALYST),
    _page("GET", "/notices/{id}/share", shares.share_form, Access.PUBLISHER),
    _page("POST", "/notices/{id}/share", shares.share_submit, Access.PUBLISHER),
    _page("GET", "/shares", shares.shares, Access.PUBLISHER),
    _page("POST", "/shares/{pid}/{decision}", shares.decide, Access.PUBLISHER),
    _page("GET", "/charts", analyst.charts, Access.ANALYST),
    _page("GET", "/notices/{id}/stix", exports.notice, Access.ANALYST),
    _page("GET", "/import", imports.import_form, Access.PUBLISHER),
    _page("POST", "/import", imports.import_submit, Access.PUBLISHER),
    _page("POST", "/import/publish", imports.publish_submit, Access.PUBLISHER),
    _page("GET", "/watching", watching.page, Access.ANALYST),
    _page("POST", "/watching", watching.add, Access.ANALYST),
    _page("POST", "/watching/{id}/remove", watching.remove, Access.ANALYST),
    _page("POST", "/watching/read", watching.mark_read, Access.ANALYST),
    _page("POST", "/watching/mail", watching.mail, Access.ANALYST),
    _page("GET", "/notifications.json", watching.counts, Access.ANALYST),
    _page("GET", "/publish/{kind}", officer.publish_form, Access.PUBLISHER),
    _page("POST", "/publish/{kind}", officer.publish_submit, Access.PUBLISHER),
    _page("GET", "/account", account.page, Access.ANALYST),
    _page("POST", "/account/password", account.password_submit, Access.ANALYST),
    _page("POST", "/account/recovery-codes", account.codes_submit, Access.ANALYST),
    _page("POST", "/account/keys/options", account.key_options, Access.ANALYST),
    _page("POST", "/account/keys", account.key_submit, Access.ANALYST),
    _page("POST", "/account/keys/{id}/remove", account.key_remove, Access.ANALYST),
    # Before the generic section route, which would take "people" for a section name.
    _page("GET", "/admin/people", people.page, Access.ADMIN),
    _page("POST", "/admin/people", people.create, Access.ADMIN),
    _page("POST", "/admin/people/{login}/{action}", people.decide, Access.ADMIN),
    _page("GET", "/admin/channels/new", workflows.new_channel, Access.ADMIN),
    _page("POST", "/admin/channels/new", workflows.new_channel_submit, Access.ADMIN),
    _page("POST", "/admin/channels/join", workflows.ask_to_join, Access.ADMIN),
    _page("GET", "/admin/channels/{channel}/members", workflows.members_form, Access.ADMIN),
    _page("POST", "/admin/channels/{channel}/members", workflows.members_submit, Access.ADMIN),
    _page(
        "POST",
        "/admin/channels/{channel}/joins/{agency}/{decision}",
        workflows.decide_join,
        Access.ADMIN,
    ),
    _page("POST", "/admin/channels/{channel}/alarm", workflows.decide_alarm, Access.ADMIN),
    _page("GET", "/admin/subscriptions/new", workflows.subscribe_form, Access.ADMIN),
    _page("POST", "/admin/subscriptions/new", workflows.subscribe_submit, Access.ADMIN),
    _page(
        "POST",
        "/admin/subscriptions/{id}/state/{action}",
        workflows.subscription_state,
        Access.ADMIN,
    ),
    _page("GET", "/admin/", admin.section, Access.ADMIN),
    _page("GET", "/admin/{section}", admin.section, Access.ADMIN),
    _page("POST", "/admin/tokens", admin.create_token, Access.ADMIN),
    _page("POST", "/admin/tokens/{id}/revoke", admin.revoke_token, Access.ADMIN),
    _page("POST", "/admin/subscriptions/{id}/{action}", admin.decide_subscription, Access.ADMIN),
    _page("POST", "/admin/directory/proposal", admin.review_proposal, Access.ADMIN),
    _page("POST", "/admin/directory/apply", admin.apply_proposal, Access.ADMIN),
    _page("POST", "/admin/channels/proposal", admin.review_channel_proposal, Access.ADMIN),
    _page("POST", "/admin/channels/sign", admin.sign_channel_proposal, Access.ADMIN),
)
