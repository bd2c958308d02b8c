"""Alembic migrations for node storage."""
