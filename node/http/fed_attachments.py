"""Federation route serving attachment content, sealed, to the recipients of an envelope.

The caller is a member node authenticated by its signed request (``fedauth``);
the service decides whether it may have the content (it must be an addressee
of the envelope, and the envelope's notice must list the content) and gives
the key to seal it with. The answer is streamed record by record, read from
disk 64 KiB at a time, so serving a 10 MiB image holds one record in memory.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from baliza.crypto.attachments import RecordSealer, sealed_size
from baliza.node.http.appkeys import NODE
from baliza.node.http.federation import authenticate_peer
from baliza.node.http.routes import Access, Route
from baliza.node.services.attachment_transport import sealed_source
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import envelope_id


async def get_sealed_attachment(request: web.Request) -> web.StreamResponse:
    """Attachment ``sha256`` of envelope ``id``, sealed for the calling recipient."""
    origin, _ = await authenticate_peer(request, with_body=False)
    eid = envelope_id(request.match_info["id"], "id")
    source = await sealed_source(request.app[NODE], origin, eid, request.match_info["sha256"])
    response = web.StreamResponse(
        headers={"Content-Type": MEDIA_TYPE, "Content-Length": str(sealed_size(source.size))}
    )
    sealer = RecordSealer(source.key, source.size)
    await response.prepare(request)
    with source.path.open("rb") as content:
        while size := sealer.chunk_len():
            chunk = await asyncio.to_thread(content.read, size)
            if len(chunk) != size:
                # The file changed under us: the answer ends short, which the
                # recipient reads as a stream that does not open.
                break
            await response.write(sealer.seal(chunk))
    await response.write_eof()
    return response


ROUTES = (Route("GET", "/fed/v1/attachments/{id}/{sha256}", get_sealed_attachment, Access.PEER),)
