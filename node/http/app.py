"""Building and running a node: the aiohttp application and its resources.

Every resource with a lifetime (database, HTTP client session, delivery
tasks) is opened in a ``cleanup_ctx`` generator, so start-up happens in order
and shutdown in reverse, even when start-up fails half way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from baliza.node.core.config import NodeConfig
from baliza.node.core.trust import Keyring, TrustView
from baliza.node.http import admin_api, api, channels, federation, observability, routes
from baliza.node.http.appkeys import DELIVERY, NODE
from baliza.node.http.errors import error_middleware
from baliza.node.services.context import NodeContext
from baliza.node.services.crossworker import CrossWorker
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.directory_sync import load_directory
from baliza.node.services.fedclient import new_session
from baliza.node.services.group_commit import GroupCommit
from baliza.node.services.ingest_commit import ingest_commit
from baliza.node.services.publications import store_publications
from baliza.node.storage import Database
from baliza.protocol.federation import MAX_BATCH_BYTES

log = logging.getLogger(__name__)

# Every route the node serves, each with the access it needs (see routes.py).
ROUTES: tuple[routes.Route, ...] = (
    *federation.ROUTES,
    *api.ROUTES,
    *admin_api.ROUTES,
    *channels.ROUTES,
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
        stores=ingest_commit(db),
    )


def build_app(config: NodeConfig, keyring: Keyring) -> web.Application:
    """The node's web application; resources open when it starts."""
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BATCH_BYTES)

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

    async def cross_worker(app: web.Application) -> AsyncIterator[None]:
        # Other workers of this agency on the same PostgreSQL database.
        listener = CrossWorker(app[NODE])
        await listener.start()
        yield
        await listener.stop()

    app.on_shutdown.append(end_live_streams)
    app.cleanup_ctx.append(node_context)
    app.cleanup_ctx.append(cross_worker)
    app.cleanup_ctx.append(delivery)
    routes.install(app, ROUTES)
    return app


def serve(config: NodeConfig, keyring: Keyring) -> None:
    """Run the node until interrupted."""
    app = build_app(config, keyring)
    log.info("node %s listening on %s", config.agency, config.url)
    # The default access log halves throughput (FACTS.md); what matters is
    # counted in /metrics (envelopes, deliveries, publications) instead.
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        access_log=None,
        print=None,
        handle_signals=True,
    )
