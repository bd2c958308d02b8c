"""Building and running a node: the aiohttp application and its resources.

Every resource with a lifetime (database, HTTP client session, delivery
tasks) is opened in a ``cleanup_ctx`` generator, so start-up happens in order
and shutdown in reverse, even when start-up fails half way.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web

from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, TrustView
from baliza.node.http import admin_api, api, federation, observability, routes
from baliza.node.http.admission import Admission
from baliza.node.http.appkeys import ADMISSION, DELIVERY, NODE
from baliza.node.http.errors import error_middleware
from baliza.node.http.server import NodeSite, node_runner
from baliza.node.services.context import NodeContext
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.directory_sync import load_directory
from baliza.node.services.fedclient import new_session
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.publications import store_publications
from baliza.node.storage import Database
from baliza.protocol.federation import MAX_BATCH_BYTES

log = logging.getLogger(__name__)

# Every route the node serves, each with the access it needs (see routes.py).
ROUTES: tuple[routes.Route, ...] = (
    *federation.ROUTES,
    *api.ROUTES,
    *admin_api.ROUTES,
    *observability.ROUTES,
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
    )


def build_app(config: NodeConfig, keyring: Keyring) -> web.Application:
    """The node's web application; resources open when it starts."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BATCH_BYTES)
    app[ADMISSION] = Admission(config.peer_requests_per_s, config.peer_concurrent_bodies)

    async def node_context(app: web.Application) -> AsyncIterator[None]:
        ctx = await open_context(config, keyring)
        app[NODE] = ctx
        yield
        ctx.live.close()
        await ctx.db.close()

    async def delivery(app: web.Application) -> AsyncIterator[None]:
        async with new_session() as session:
            service = DeliveryService(app[NODE], session)
            app[DELIVERY] = service
            await service.start()
            yield
            await service.stop()

    async def end_live_streams(app: web.Application) -> None:
        if NODE in app:
            app[NODE].live.close()

    app.on_shutdown.append(end_live_streams)
    app.cleanup_ctx.append(node_context)
    app.cleanup_ctx.append(delivery)
    routes.install(app, ROUTES)
    return app


def serve(config: NodeConfig, keyring: Keyring) -> None:
    """Run the node until SIGINT or SIGTERM."""
    asyncio.run(_serve(config, keyring))


async def _serve(config: NodeConfig, keyring: Keyring) -> None:
    # The default access log halves throughput (measured in bench/); what
    # matters is counted in /metrics (envelopes, deliveries, publications).
    runner = node_runner(build_app(config, keyring), config)
    await runner.setup()
    try:
        await NodeSite(runner, config.host, config.port, config.max_connections).start()
        log.info("node %s listening on %s", config.agency, config.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
