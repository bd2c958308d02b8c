"""Building and running a node: the aiohttp application and its resources.

Every resource with a lifetime (database, HTTP client session, delivery
tasks) is opened in a ``cleanup_ctx`` generator, so start-up happens in order
and shutdown in reverse, even when start-up fails half way.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from baliza.node.console import pages as console_pages
from baliza.node.console import web as console_web
from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, TrustView
from baliza.node.core.weak_settings import weak_settings
from baliza.node.http import (
    admin_api,
    api,
    audit_api,
    channels,
    exports_api,
    fed_attachments,
    fed_audit,
    fed_sharing,
    federation,
    imports_api,
    inbox_api,
    observability,
    people_api,
    routes,
    sharing_api,
    taxii,
    watch_api,
)
from baliza.node.http.admission import Admission
from baliza.node.http.appkeys import (
    ADMISSION,
    ATTACHMENTS,
    AUDIT_HEADS,
    DELIVERY,
    NODE,
    NOTIFIER,
    REFUSED_CHAINS,
    SIGN_INS,
)
from baliza.node.http.client_address import client_address_middleware, trusted_networks
from baliza.node.http.errors import error_middleware
from baliza.node.http.request_log import request_log_middleware
from baliza.node.http.server import NodeSite, node_runner
from baliza.node.services.attachment_transport import Fetcher
from baliza.node.services.audit import HeadSigner
from baliza.node.services.channel_push import RefusedChains
from baliza.node.services.context import NodeContext
from baliza.node.services.crossworker import CrossWorker
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.directory_sync import load_directory
from baliza.node.services.fedclient import new_session
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.ingest_commit import ingest_commit
from baliza.node.services.messages import MessageCourier
from baliza.node.services.notifier import Notifier
from baliza.node.services.publications import store_publications
from baliza.node.services.sign_in_throttle import SignInThrottle
from baliza.node.storage import Database
from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.federation import MAX_BATCH_BYTES

log = logging.getLogger(__name__)

# Every route the node serves, each with the access it needs (see routes.py).
ROUTES: tuple[routes.Route, ...] = (
    *federation.ROUTES,
    *fed_sharing.ROUTES,
    *fed_attachments.ROUTES,
    *fed_audit.ROUTES,
    *api.ROUTES,
    *sharing_api.ROUTES,
    *inbox_api.ROUTES,
    *admin_api.ROUTES,
    *audit_api.ROUTES,
    *exports_api.ROUTES,
    *people_api.ROUTES,
    *imports_api.ROUTES,
    *taxii.ROUTES,
    *watch_api.ROUTES,
    *channels.ROUTES,
    *observability.ROUTES,
    *console_pages.ROUTES,
    # The console's live feed: the API's stream, proven by the session cookie.
    routes.Route(
        "GET",
        "/console/stream",
        api.stream,
        routes.Access.ANALYST,
        credential=routes.Credential.SESSION,
    ),
)


async def open_context(config: NodeConfig, keyring: Keyring) -> NodeContext:
    """Open storage (bringing its schema up to date), restore trust, build the node's state."""
    db = await Database.open(config.db_url)
    try:
        await db.upgrade()
        directory = await load_directory(db)
    except BaseException:
        await db.close()
        raise
    trust = TrustView(config.agency, directory)
    return NodeContext(
        config=config,
        keyring=keyring,
        trust=trust,
        db=db,
        publications=GroupCommit(db, store_publications),
        stores=ingest_commit(db),
    )


def build_app(config: NodeConfig, keyring: Keyring) -> web.Application:
    """The node's web application; resources open when it starts."""
    app = web.Application(
        middlewares=[
            # First, so that the request log and every limit see the client's address.
            client_address_middleware(trusted_networks(config.trusted_proxies)),
            request_log_middleware,
            error_middleware,
            console_web.console_middleware,
        ],
        client_max_size=MAX_BATCH_BYTES,
    )
    app[ADMISSION] = Admission(config.peer_requests_per_s, config.peer_concurrent_bodies)
    app[REFUSED_CHAINS] = RefusedChains()
    app[SIGN_INS] = SignInThrottle()
    console_web.setup(app, public_https=config.url.startswith("https://"))

    async def node_context(app: web.Application) -> AsyncIterator[None]:
        for weakness in weak_settings(config):
            log.warning("setting that weakens security: %s", weakness)
        ctx = await open_context(config, keyring)
        app[NODE] = ctx
        yield
        ctx.live.close()
        await ctx.db.close()

    async def delivery(app: web.Application) -> AsyncIterator[None]:
        async with new_session(config.tls_ca_file) as session:
            service = DeliveryService(app[NODE], session)
            app[DELIVERY] = service
            fetcher = Fetcher(app[NODE], session)
            app[ATTACHMENTS] = fetcher
            messages = MessageCourier(app[NODE], session)
            fetcher.start()
            messages.start()
            await service.start()
            yield
            await service.stop()
            await messages.stop()
            await fetcher.stop()

    async def end_live_streams(app: web.Application) -> None:
        if NODE in app:
            app[NODE].live.close()

    async def cross_worker(app: web.Application) -> AsyncIterator[None]:
        # Other workers of this agency on the same PostgreSQL database.
        listener = CrossWorker(app[NODE])
        await listener.start()
        yield
        await listener.stop()

    async def audit_heads(app: web.Application) -> AsyncIterator[None]:
        signer = HeadSigner(
            app[NODE], every=config.audit_head_every, interval_ms=config.audit_head_interval_ms
        )
        app[AUDIT_HEADS] = signer
        signer.start()
        yield
        await signer.stop()

    async def notifier(app: web.Application) -> AsyncIterator[None]:
        # Watch-lists, notifications and their e-mail (services/notifier.py).
        worker = Notifier(app[NODE])
        app[NOTIFIER] = worker
        worker.start()
        yield
        await worker.stop()

    app.on_shutdown.append(end_live_streams)
    app.cleanup_ctx.append(node_context)
    app.cleanup_ctx.append(cross_worker)
    app.cleanup_ctx.append(delivery)
    app.cleanup_ctx.append(audit_heads)
    app.cleanup_ctx.append(notifier)
    routes.install(app, ROUTES)
    return app


def serve(
    config: NodeConfig, keyring: Keyring, on_ready: Callable[[str], None] | None = None
) -> None:
    """Run the node until SIGINT or SIGTERM; ``on_ready`` hears the start and the stop lines.

    A port already in use is refused with ``conflict`` before anything says
    the node is serving.
    """
    asyncio.run(_serve(config, keyring, on_ready or (lambda _: None)))


async def _serve(config: NodeConfig, keyring: Keyring, ready: Callable[[str], None]) -> None:
    # The default access log costs about half the throughput; what matters
    # is counted in /metrics (envelopes, deliveries, publications).
    runner = node_runner(build_app(config, keyring), config)
    await runner.setup()
    try:
        site = NodeSite(runner, config.host, config.port, config.max_connections)
        try:
            await site.start()
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise UsageError(
                ReasonCode.CONFLICT,
                f"port {config.port} on {config.host} is in use: "
                "is another `baliza serve` running?",
                path="port",
            ) from None
        listening = ", ".join(site.bound()) or config.local_url
        partners = config.public_url or "(no public_url: partners use the listener)"
        ready(
            f"{config.agency} listening on {listening} (local API, console, /metrics);"
            f" partners reach it at {partners}"
        )
        stop = asyncio.Event()
        received: list[str] = []
        loop = asyncio.get_running_loop()

        def on_signal(number: int) -> None:
            received.append(signal.Signals(number).name)
            stop.set()

        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, on_signal, signal_number)
        await stop.wait()
    finally:
        await runner.cleanup()
    ready(f"{config.agency} stopped ({', '.join(received)}): no longer listening on {listening}")
