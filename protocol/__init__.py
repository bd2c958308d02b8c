"""Baliza wire protocol: pure, sans-I/O types, canonical encoding and validation."""
