"""Settings that are valid but weaken security: named at start and by ``baliza doctor``.

``config.validate`` refuses what the node cannot work with; what it can work
with but should not be run with is taken, and said out loud (issue 17,
item 14): a node listening on every interface serves plain HTTP to the
network; an ``http://`` public URL sends partners' requests and the
node's answers in clear; an hour of clock skew lets a captured request be
replayed for an hour; a million requests per second is no limit at all.
Each limit below is several times the default, so a deliberate adjustment
passes and a slip of a zero does not.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from baliza.node.core.config import DAY_MS, NodeConfig

# Above these a guard is no guard: (limit, what it lets happen).
LIMITS: dict[str, tuple[int, str]] = {
    "request_skew_ms": (15 * 60_000, "a captured request can be replayed for that long"),
    "replay_window_ms": (30 * DAY_MS, "a captured envelope can be pushed again that late"),
    "peer_requests_per_s": (1000, "a member's flood is not slowed"),
    "peer_concurrent_bodies": (16, "one member can hold that many bodies in memory at once"),
    "header_timeout_ms": (120_000, "slow clients hold connections that long"),
    "body_timeout_ms": (300_000, "slow bodies hold connections and memory that long"),
    "max_connections": (10_000, "connections are not capped where the process runs out"),
    "max_streams_per_token": (64, "one token can hold that many live streams"),
    "stream_write_timeout_ms": (300_000, "a follower that does not read is kept that long"),
}
_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", "", "*", "[::]"})  # noqa: S104 (recognised, not bound)
# A trusted proxy network wider than this lets whole networks name their own address.
_MAX_TRUSTED_ADDRESSES = 256


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def weak_settings(config: NodeConfig) -> list[str]:
    """Each setting of ``config`` that weakens security, as ``"<key>: <why, what to do>"``."""
    found = []
    if config.host in _EVERY_INTERFACE:
        found.append(
            f"host: {config.host or '(empty)'} listens on every interface, serving plain HTTP"
            " (the local API, its tokens, decrypted notices) to the network; listen on"
            ' 127.0.0.1 (host = "127.0.0.1") or an address only the TLS proxy reaches'
        )
    url = urlsplit(config.url)
    derived_from_host = not config.public_url and config.host in _EVERY_INTERFACE  # said above
    if url.scheme != "https" and not _loopback(url.hostname or "") and not derived_from_host:
        found.append(
            f"public_url: {config.url} is not https: partners' requests and this node's"
            " answers travel in clear; put the node behind a TLS proxy and give its"
            ' https:// URL (e.g. public_url = "https://baliza.polfa.example")'
        )
    for key, (limit, risk) in LIMITS.items():
        value = getattr(config, key)
        if value > limit:
            default = NodeConfig.__dataclass_fields__[key].default
            found.append(f"{key}: {value} is over {limit}: {risk} (default {default})")
    for entry in config.trusted_proxies:
        network = ipaddress.ip_network(entry.strip(), strict=False)
        if network.num_addresses > _MAX_TRUSTED_ADDRESSES:
            found.append(
                f"trusted_proxies: {entry} trusts {network.num_addresses} addresses to name"
                " the client, so any of them can pick the address it is charged to; list"
                " only the proxy's own address"
            )
    return found
