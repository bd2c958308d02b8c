"""One use case per module: publish, ingest, deliver, receipts, directory sync, channels.

Services take the node's state (``context.NodeContext``) and the time, and speak to
storage through repositories; they never import ``http`` or ``cli``.
"""
