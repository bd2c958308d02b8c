"""Alembic migrations: they build the schema the models describe, both ways, on both engines."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
from functools import partial
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from notice_json import seizure
from sqlalchemy import Connection, inspect, text

from baliza.node.services.rules.identity import notice_identity
from baliza.node.storage import Database
from baliza.node.storage.models import metadata
from baliza.node.storage.search import SEARCH_OBJECTS
from baliza.node.storage.sql import audit as audit_rows
from baliza.protocol import merkle
from baliza.protocol.audit import AuditEntry, EntryKind, content_digest
from baliza.protocol.notices import notice_from_json, notice_to_json

MODEL_TABLES = set(metadata.tables)
SCRIPTS = ScriptDirectory(str(importlib.resources.files("baliza.migrations")))
HEAD = SCRIPTS.get_current_head()


def _tables(connection: Connection) -> set[str]:
    # The engine's full-text structures are made by migration, not models.
    return set(inspect(connection).get_table_names()) - {"alembic_version", *SEARCH_OBJECTS}


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_name": lambda name, _type, _parent: name not in SEARCH_OBJECTS,
        },
    )
    diffs: list[Any] = compare_metadata(context, metadata)
    return diffs


def test_one_linear_history_with_a_single_head() -> None:
    assert len(SCRIPTS.get_heads()) == 1
    revisions = [s.revision for s in SCRIPTS.walk_revisions()]  # newest first
    assert revisions == sorted(revisions, reverse=True)
    assert revisions[-1] == "0001"
    for script in SCRIPTS.walk_revisions():
        expected = None if script.revision == "0001" else f"{int(script.revision) - 1:04d}"
        assert script.down_revision == expected, f"{script.revision} must follow {expected}"


async def test_upgrade_from_empty_creates_every_table(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        assert await db.current_revision() is None
        await db.upgrade()
        assert await db.current_revision() == HEAD
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == MODEL_TABLES
        await db.upgrade()  # already at head: nothing to do, no error
    finally:
        await db.close()


async def test_models_match_the_migrations(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await db.close()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        await db.downgrade("base")
        assert await db.current_revision() is None
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await db.upgrade()
        async with db.engine.connect() as connection:
            assert await connection.run_sync(_tables) == MODEL_TABLES
            assert await connection.run_sync(_differences) == []
    finally:
        await db.close()


async def test_nodes_starting_together_migrate_once(database_url: str) -> None:
    # Several node processes sharing a database may all call upgrade() at start.
    databases = [await Database.open(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(db.upgrade() for db in databases))
        assert {await db.current_revision() for db in databases} == {HEAD}
    finally:
        for db in databases:
            await db.close()


async def test_recipient_lists_move_from_json_to_rows_and_back(database_url: str) -> None:
    """0002 carries existing JSON recipient lists over into rows (and back on downgrade)."""
    db = await Database.open(database_url)
    try:
        await db.upgrade("0001")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO sent_envelopes (id, kind, created_ms, recipients, raw) "
                    "VALUES ('e1', 'notice.alert', 1, :recipients, :raw)"
                ),
                {"recipients": '["co.polfa.ctg", "es.aduanas.alg"]', "raw": b"x"},
            )
            await connection.execute(
                text(
                    "INSERT INTO notices (envelope_id, direction, kind, sender, recipients, "
                    "created_ms, stored_ms, tlp, summary, search_text, notice_json) VALUES "
                    "('e2', 'in', 'notice.seizure', 'ec.polnac.gye', :recipients, "
                    "1, 1, 'amber', 's', 's', '{}')"
                ),
                {"recipients": '["ec.polnac.gye", "es.aduanas.alg"]'},
            )
        await db.upgrade()
        async with db.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT envelope_id, agency, via FROM recipients ORDER BY 1, 2")
            )
            assert [tuple(r) for r in rows] == [
                ("e1", "co.polfa.ctg", "named"),
                ("e1", "es.aduanas.alg", "named"),
                ("e2", "es.aduanas.alg", "named"),  # the sender is no longer listed
            ]
        await db.downgrade("0001")
        async with db.engine.connect() as connection:
            listed = await connection.scalar(text("SELECT recipients FROM sent_envelopes"))
            assert listed == '["co.polfa.ctg", "es.aduanas.alg"]'
    finally:
        await db.close()


async def test_stored_notices_get_their_identity(database_url: str) -> None:
    """0012 rewrites the byte hash of notices stored before as what each notice *is*."""
    notice = notice_from_json(seizure("ec.polnac.gye"))
    db = await Database.open(database_url)
    try:
        await db.upgrade("0011")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO notices (envelope_id, direction, kind, sender, created_ms, "
                    "stored_ms, tlp, summary, search_text, notice_json, content_hash) VALUES "
                    "(:id, 'in', 'notice.seizure', 'ec.polnac.gye', 1, 1, 'amber', 's', 's', "
                    ":json, :bytes_hash)"
                ),
                [
                    {
                        "id": "e1",
                        "json": json.dumps(notice_to_json(notice), sort_keys=True),
                        "bytes_hash": "0" * 64,
                    },
                    {"id": "e2", "json": "{}", "bytes_hash": "1" * 64},  # not a notice: kept
                ],
            )
        await db.upgrade()
        async with db.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT envelope_id, content_hash FROM notices ORDER BY 1")
            )
            assert [tuple(r) for r in rows] == [
                ("e1", notice_identity(notice)),
                ("e2", "1" * 64),
            ]
    finally:
        await db.close()


def _audit_node_rows(connection: Connection) -> dict[tuple[int, int], bytes]:
    rows = connection.execute(text("SELECT level, idx, hash FROM audit_nodes"))
    return {(int(lv), int(ix)): bytes(h) for lv, ix, h in rows}


async def test_the_audit_log_keeps_its_small_subtrees_or_not_both_ways(database_url: str) -> None:
    """0017 moves leaf hashes into the leaves and drops small subtrees; its downgrade undoes it."""
    entries = [
        AuditEntry(
            kind=EntryKind.TRUST, at_ms=i, subject=f"action {i}", digest=content_digest(b"%d" % i)
        )
        for i in range(37)
    ]
    leaves = [merkle.leaf_hash(e.to_bytes()) for e in entries]
    _, _, completed = merkle.append(0, [], leaves)
    every = {(t.level, t.index): h for t, h in completed}
    db = await Database.open(database_url)
    try:
        await db.upgrade()
        await db.run(partial(audit_rows.append, entries=entries), write=True)
        kept = await db.run(_audit_node_rows, write=False)
        assert kept == {k: h for k, h in every.items() if k[0] >= 4}
        await db.downgrade("0016")
        assert await db.run(_audit_node_rows, write=False) == every  # what 0016's code reads
        await db.upgrade()  # the leaf hashes come back from level 0
        assert await db.run(_audit_node_rows, write=False) == kept
        size, root = await db.run(audit_rows.size_and_root, write=False)
        proof = await db.run(partial(audit_rows.inclusion_proof, index=35, size=size), write=False)
        merkle.verify_inclusion(leaves[35], 35, size, proof, root)
        hashes = await db.run(partial(audit_rows.leaf_hashes, indices=range(37)), write=False)
        assert hashes == dict(enumerate(leaves))
    finally:
        await db.close()


def _tokens_and_sessions(connection: Connection) -> tuple[list[tuple[Any, ...]], int]:
    tokens = [tuple(r) for r in connection.execute(text("SELECT id, name FROM api_tokens"))]
    sessions = connection.execute(text("SELECT count(*) FROM console_sessions")).scalar_one()
    return tokens, int(sessions)


async def test_tokens_and_their_sessions_outlive_the_owner_column(database_url: str) -> None:
    """0023 adds the owner in place: tokens become services' and their console sessions stay
    (rebuilding the table on SQLite would have cascaded to them)."""
    db = await Database.open(database_url)
    try:
        await db.upgrade("0022")
        async with db.engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO api_tokens (id, name, role, token_hash, created_ms)"
                    " VALUES ('t1', 'MISP pull', 'analyst', :hash, 1)"
                ),
                {"hash": b"h" * 32},
            )
            await connection.execute(
                text(
                    "INSERT INTO console_sessions (id_hash, token_id, csrf, created_ms, seen_ms)"
                    " VALUES (:id, 't1', 'c', 1, 1)"
                ),
                {"id": b"s" * 32},
            )
        await db.upgrade()
        assert await db.run(_tokens_and_sessions, write=False) == ([("t1", "MISP pull")], 1)
        owners = await db.run(
            lambda c: list(c.execute(text("SELECT owner_id FROM api_tokens")).scalars()),
            write=False,
        )
        assert owners == [None]
        await db.downgrade("0022")
        tokens, _ = await db.run(_tokens_and_sessions, write=False)
        assert tokens == [("t1", "MISP pull")]
    finally:
        await db.close()
