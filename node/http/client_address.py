"""Which address a request came from: the connection's, or the trusted proxy's word for it.

Behind the shipped nginx every connection the node sees comes from the proxy,
so per-address limits keyed on the connection would put every partner and
every attacker in one bucket (issue 17, item 4). nginx names the client in
``X-Forwarded-For`` and ``X-Real-IP``; those headers are believed only when the
connection itself comes from an address in ``trusted_proxies``. From anyone
else they are ignored, so a client cannot pick the address it is charged to.

``X-Forwarded-For`` is read from the right: each proxy appends the address it
saw, so the rightmost address that is not itself a trusted proxy is the
client as far as the trusted chain can tell. A header that does not parse
is not believed; the connection's address stands instead.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_FOR = "X-Forwarded-For"
REAL_IP = "X-Real-IP"


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The ``trusted_proxies`` setting as networks (a bare address is a /32 or /128).

    Raises ``ValueError`` for an entry that is neither (config.py checks first).
    """
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address: Address, within: Sequence[Network]) -> bool:
    return any(address in network for network in within)


def client_address(
    peer: str | None,
    forwarded_for: Sequence[str],
    real_ip: str | None,
    trusted: Sequence[Network],
) -> str | None:
    """The client's address: ``peer``, unless ``peer`` is a trusted proxy that names another.

    ``forwarded_for`` holds the ``X-Forwarded-For`` header values in order;
    ``real_ip`` the ``X-Real-IP`` value. Pure: decides from what it is given.
    """
    connected = _address(peer) if peer else None
    if connected is None or not _trusted(connected, trusted):
        return peer
    chain = [item for value in forwarded_for for item in value.split(",")]
    if chain:
        addresses = [_address(item) for item in chain]
        if all(a is not None for a in addresses):
            for address in reversed(addresses):
                assert address is not None
                if not _trusted(address, trusted):
                    return str(address)
            first = addresses[0]
            assert first is not None
            return str(first)  # every hop a trusted proxy: the first is the client
    named = _address(real_ip) if real_ip else None
    return str(named) if named is not None else peer


def client_address_middleware(trusted: Sequence[Network]) -> Middleware:
    """A middleware that hands every later handler the request as from its client's address."""
    networks = tuple(trusted)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not networks:
            return await handler(request)
        remote = client_address(
            request.remote,
            request.headers.getall(FORWARDED_FOR, []),
            request.headers.get(REAL_IP),
            networks,
        )
        if remote is None or remote == request.remote:
            return await handler(request)
        return await handler(request.clone(remote=remote))

    return middleware
