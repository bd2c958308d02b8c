"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from baliza.node.http.admission import Admission
from baliza.node.services.attachment_transport import Fetcher
from baliza.node.services.audit import HeadSigner
from baliza.node.services.channel_push import RefusedChains
from baliza.node.services.context import NodeContext
from baliza.node.services.delivery import DeliveryService
from baliza.node.services.notifier import Notifier
from baliza.node.services.sign_in_throttle import SignInThrottle

NODE = web.AppKey("node", NodeContext)
DELIVERY = web.AppKey("delivery", DeliveryService)
ADMISSION = web.AppKey("admission", Admission)
ATTACHMENTS = web.AppKey("attachments", Fetcher)
REFUSED_CHAINS = web.AppKey("refused_chains", RefusedChains)
SIGN_INS = web.AppKey("sign_ins", SignInThrottle)
AUDIT_HEADS = web.AppKey("audit_heads", HeadSigner)
NOTIFIER = web.AppKey("notifier", Notifier)
