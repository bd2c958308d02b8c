"""Baliza agency node: storage, federation transport, local API, CLI."""
