"""The ``baliza`` command line.

Commands that change the node's files or database (init, peers, tokens, users, db)
work on the data folder directly; commands that use a running node (publish,
feed, status) call its local API with a bearer token, because only the
running node holds the decrypted keys. Every failure is one line on stderr
and a non-zero exit code; no stack trace reaches the operator.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from baliza.crypto import AgencyKeys, Suite
from baliza.node.cli.admin import add_admin_commands, record_event
from baliza.node.cli.audit import add_audit_commands
from baliza.node.cli.channels import add_channel_commands
from baliza.node.cli.conformance import add_conformance_command
from baliza.node.cli.exports import add_export_commands
from baliza.node.cli.imports import add_import_commands
from baliza.node.cli.inbox import add_inbox_commands
from baliza.node.cli.operations import add_operations_commands
from baliza.node.cli.schema import check_schema, check_upgradable
from baliza.node.cli.sharing import add_sharing_commands
from baliza.node.cli.support import (
    PASSPHRASE_HELP,
    api_client,
    data_dir,
    opt_path,
    undo_on_failure,
)
from baliza.node.cli.users import add_user_commands
from baliza.node.cli.watch import add_watch_commands
from baliza.node.cli.workflow import add_workflow_commands, attach
from baliza.node.core.clock import now_ms
from baliza.node.core.config import CONFIG_FILE, LEGACY_CONFIG_FILE, PUBLIC_FILE, NodeConfig
from baliza.node.core.keyring import load_keyring, read_passphrase, save_keys
from baliza.node.core.logs import announcer, setup_logging
from baliza.node.services.member_card import MemberCard, refresh_card, save_card
from baliza.protocol.errors import BalizaError, ReasonCode, UsageError
from baliza.protocol.ids import agency_id

DEFAULT_DATA_DIR = "baliza-data"
YEAR_MS = 365 * 24 * 3600 * 1000


def cmd_init(args: argparse.Namespace) -> int:
    """Create the agency's keys, configuration and public key file."""
    folder = data_dir(args)
    if (folder / CONFIG_FILE).exists() or (folder / LEGACY_CONFIG_FILE).exists():
        raise UsageError(ReasonCode.CONFLICT, f"{folder} already holds a node")
    agency = agency_id(args.agency, "--agency")
    config = NodeConfig(
        agency=agency,
        name=args.name or agency,
        data_dir=folder,
        host=args.host,
        port=args.port,
        public_url=args.public_url or "",
        database_url=args.database_url or "",
    )
    passphrase = read_passphrase(opt_path(args.passphrase_file), confirm=True)
    # A failure half-way (a database that does not answer, a full disk) must
    # not leave a folder that the next `init` calls "already holds a node".
    with undo_on_failure(folder):
        fingerprint = _create_node(config, passphrase, Suite(args.suite))
    print(f"Created node {agency} in {folder}")
    print(f"  key fingerprint: {fingerprint}")
    print(
        f"  give {folder / PUBLIC_FILE} to the federation administrators, read them the"
        " fingerprint by phone, then apply the directory they send back"
        " (baliza admin directory apply)"
    )
    return 0


def _create_node(config: NodeConfig, passphrase: bytes, suite: Suite) -> str:
    """Keys, settings, member card and database schema of a new node; the key fingerprint."""
    now = now_ms()
    keys = AgencyKeys.generate(
        config.agency, suite, valid_from_ms=now, valid_until_ms=now + 2 * YEAR_MS
    )
    config.save()
    save_keys(config.data_dir, keys, passphrase)
    card = MemberCard(agency=config.agency, name=config.name, url=config.url, keys=keys.public())
    save_card(card, config.data_dir / PUBLIC_FILE)
    # The schema goes where `serve` will look: node.toml as just written, with
    # the BALIZA_* overrides of this environment (compose names the database
    # in BALIZA_DATABASE_URL, not in node.toml).
    live = NodeConfig.load(config.data_dir)
    asyncio.run(_upgrade(live))
    asyncio.run(record_event(live, "key.generated", bytes(keys.public().signing_key_id).hex()))
    return keys.public().fingerprint()


async def _upgrade(config: NodeConfig) -> None:
    from baliza.node.storage import Database

    db = await Database.open(config.db_url)
    try:
        await db.upgrade()
    finally:
        await db.close()


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    config = NodeConfig.load(data_dir(args))
    if args.database_url:
        config = _with_db(config, args.database_url)
    before = asyncio.run(check_upgradable(config.db_url))
    asyncio.run(_upgrade(config))
    after = asyncio.run(check_upgradable(config.db_url))
    if before == after:
        print(f"database already at {after}, the code's head: nothing to migrate")
    else:
        print(f"database migrated from {before or 'empty'} to {after}")
    return 0


def _with_db(config: NodeConfig, url: str) -> NodeConfig:
    from dataclasses import replace

    return replace(config, database_url=url)


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the node."""
    from baliza.node.http.app import serve

    folder = data_dir(args)
    config = NodeConfig.load(folder)
    if args.database_url:
        config = _with_db(config, args.database_url)
    asyncio.run(check_schema(config.db_url))
    keyring = load_keyring(folder, read_passphrase(opt_path(args.passphrase_file)))
    setup_logging(config, args.log_format, verbose=args.verbose)
    old = refresh_card(folder / PUBLIC_FILE, config.url, config.name)
    if old is not None and old.url != config.url:
        logging.getLogger("baliza.serve").warning(
            "public_url is now %s (public.json said %s): public.json rewritten. Send it to the"
            " federation administrators; until they list the new URL"
            " (baliza admin directory propose … --set-url %s=%s), partners use the old one",
            config.url,
            old.url,
            config.agency,
            config.url,
        )
    serve(config, keyring, on_ready=announcer(config, args.log_format))
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    """Create an API token; print it once."""
    from baliza.node.services.tokens import issue_token
    from baliza.node.storage import Database

    config = NodeConfig.load(data_dir(args))

    async def run() -> str:
        db = await Database.open(config.db_url)
        try:
            await db.upgrade()
            return await issue_token(db, args.name, args.role, now_ms(), owner=args.owner)
        finally:
            await db.close()

    token = asyncio.run(run())
    holder = args.name if args.owner is None else f"{args.name}, owned by {args.owner}"
    print(f"{args.role} token for {holder} (shown once; keep it like a password):")
    print(token)
    return 0


def cmd_tokens_list(args: argparse.Namespace) -> int:
    """List API tokens (ids, roles, holders, owners or "service"; never the secrets)."""
    from baliza.node.services.tokens import list_tokens
    from baliza.node.storage import Database

    config = NodeConfig.load(data_dir(args))

    async def run() -> None:
        db = await Database.open(config.db_url)
        try:
            await db.upgrade()
            for listed in await list_tokens(db):
                token, owner = listed.token, listed.owner
                state = "active" if token.active else f"revoked at {token.revoked_ms}"
                whose = "service" if owner is None else f"{owner.name} ({owner.login})"
                print(f"{token.id}  {token.role.value:10} {token.name:30} {whose:30} {state}")
        finally:
            await db.close()

    asyncio.run(run())
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token by its id (the part after ``bz_``)."""
    from baliza.node.services.tokens import withdraw_token
    from baliza.node.storage import Database

    config = NodeConfig.load(data_dir(args))

    async def run() -> None:
        db = await Database.open(config.db_url)
        try:
            await db.upgrade()
            await withdraw_token(db, args.id, now_ms(), actor="local operator")
        finally:
            await db.close()

    asyncio.run(run())
    print(f"token {args.id} revoked")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    """Publish a notice from a JSON file (or stdin) through the running node."""
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise UsageError(ReasonCode.MALFORMED, f"{args.file}: not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise UsageError(ReasonCode.WRONG_TYPE, f"{args.file}: a notice is a JSON object")
    if "kind" in body:  # a bare notice (a correction's own "notice" field is no wrapper)
        body = {"notice": body}
    if args.to:
        body["recipients"] = args.to
    if args.channel:
        body["channel"] = args.channel
    if not body.get("recipients") and not body.get("channel"):
        raise UsageError(
            ReasonCode.MISSING_FIELD,
            "name at least one recipient agency with --to (or a --channel)",
            path="--to",
        )
    if args.tlp:
        body.setdefault("handling", {})["tlp"] = args.tlp
    api = api_client(args)
    if args.attach:
        attach(api, body["notice"], args.attach)
    result = asyncio.run(api.post("/api/v1/notices", body))
    where = f"channel {args.channel}: " if args.channel else ""
    print(f"published {result['id']} to {where}{', '.join(result['recipients'])}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Show peers, delivery state and channel alarms."""
    status = asyncio.run(api_client(args).get("/api/v1/status", {}))
    print(f"{status['agency']} at {status['url']}")
    for peer in status["peers"]:
        queued = f"{peer['pending']} to send" if peer["pending"] else "nothing to send"
        print(f"  {peer['agency']:22} {queued:16} {peer['state']}")
    for alarm in status.get("channel_alarms", []):
        print(
            f"ALARM channel {alarm['channel']}: {alarm['reason']} ({alarm['actor']}), "
            f"owners offered {', '.join(alarm['offered_owners'])}: {alarm['detail']}"
        )
    for channel in status.get("channels_paused", []):
        print(
            f"PAUSED channel {channel}: nothing is sent to it until an administrator decides "
            f"(`baliza channel alarm {channel} keep`, or `replace --from AGENCY`)"
        )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the four-agency demonstration."""
    from baliza.node.cli.demo import run_demo

    return run_demo(check=args.check, keep=args.keep, base_port=args.base_port, cli=main)


def build_parser() -> argparse.ArgumentParser:
    """The full command tree."""
    parser = argparse.ArgumentParser(
        prog="baliza", description="Baliza node: federated exchange of seizure notices and alerts."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int], text: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=text, description=text)
        p.set_defaults(func=func)
        return p

    def data(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--data-dir",
            default=os.environ.get("BALIZA_DATA_DIR", DEFAULT_DATA_DIR),
            help="the node's data folder (default: $BALIZA_DATA_DIR or ./baliza-data)",
        )

    def api(p: argparse.ArgumentParser) -> None:
        data(p)
        p.add_argument(
            "--url",
            help="the node's local API (default: $BALIZA_URL, else host:port from node.toml)",
        )
        p.add_argument("--token", help="API token (default: $BALIZA_TOKEN)")

    p = command("init", cmd_init, "create a node: keys, configuration, database")
    data(p)
    p.add_argument("--agency", required=True, help="agency id, e.g. co.polfa.ctg")
    p.add_argument("--name", help="agency name for people")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8470, help="port to listen on (default 8470)")
    p.add_argument("--public-url", help="URL partners use (default http://HOST:PORT)")
    p.add_argument("--database-url", help="SQLAlchemy URL (default: SQLite in the data folder)")
    p.add_argument(
        "--suite",
        default=Suite.HYBRID.value,
        choices=[s.value for s in Suite],
        help="signature and encryption suite (default hybrid: classic + post-quantum)",
    )
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)

    p = command("serve", cmd_serve, "run the node")
    data(p)
    p.add_argument("--database-url", help="SQLAlchemy URL overriding the configured one")
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
    p.add_argument("-v", "--verbose", action="store_true", help="log each request and delivery")
    p.add_argument("--log-format", choices=["text", "json"], help="default: log_format setting")

    p = command("publish", cmd_publish, "publish a notice (JSON file or - for stdin)")
    api(p)
    p.add_argument("file", help="the notice as JSON (see `baliza notice template`), - for stdin")
    p.add_argument("--to", action="append", help="recipient agency (repeat)")
    p.add_argument("--channel", help="publish to a channel's members instead of --to")
    p.add_argument(
        "--attach",
        action="append",
        help="a photo, X-ray image, PDF… to attach (repeat; at most 10 MiB each)",
    )
    p.add_argument(
        "--tlp",
        choices=["clear", "green", "amber", "amber+strict", "red"],
        help="Traffic Light Protocol marking (default amber)",
    )

    add_workflow_commands(command, api)
    add_inbox_commands(command, api)

    p = command("status", cmd_status, "peers, outbox, delivery state and channel alarms")
    api(p)

    tokens = command("tokens", lambda a: 2, "API tokens").add_subparsers(
        dest="tokens_command", required=True, metavar="ACTION"
    )
    p = command("create", cmd_tokens_create, "create an API token (shown once)", tokens)
    data(p)
    p.add_argument("--name", required=True, help="who holds the token, e.g. 'MISP pull'")
    p.add_argument(
        "--role",
        required=True,
        choices=["analyst", "publisher", "admin"],
        help="analyst reads, publisher also publishes, admin also manages trust",
    )
    p.add_argument(
        "--owner",
        metavar="LOGIN",
        help="the person the token acts for (at most their role; it ends when they are"
        " disabled); without it, a named service's token",
    )
    p = command("list", cmd_tokens_list, "list API tokens", tokens)
    data(p)
    p = command("revoke", cmd_tokens_revoke, "revoke an API token", tokens)
    data(p)
    p.add_argument("id", help="the token id: the part between bz_ and the next _")

    db = command("db", lambda a: 2, "database").add_subparsers(
        dest="db_command", required=True, metavar="ACTION"
    )
    p = command("upgrade", cmd_db_upgrade, "bring the database schema up to date", db)
    data(p)
    p.add_argument("--database-url", help="SQLAlchemy URL overriding the configured one")

    add_admin_commands(sub, command, data, api)
    add_user_commands(sub, command, data)
    add_watch_commands(sub, command, data)
    add_channel_commands(sub, command, api)
    add_audit_commands(sub, command, api)
    add_export_commands(sub, command, api)
    add_import_commands(command, api)
    add_operations_commands(sub, command, data)
    add_sharing_commands(sub, command, api)
    add_conformance_command(command, sub)

    p = command("demo", cmd_demo, "run a five-agency federation on loopback and play a scenario")
    p.add_argument("--check", action="store_true", help="run unattended; exit 1 on any failure")
    p.add_argument("--keep", action="store_true", help="keep the nodes running until Ctrl-C")
    p.add_argument("--base-port", type=int, default=0, help="first port (default: free ports)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``baliza`` command."""
    args = build_parser().parse_args(argv)
    # The data folder holds decrypted notices (the database) and key files:
    # nothing Baliza writes is for other local users.
    os.umask(0o077)
    try:
        code: int = args.func(args)
    except BalizaError as err:
        where = f"{err.path}: " if err.path else ""
        print(f"baliza: error [{err.reason}]: {where}{err.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped to a program that stopped reading (head, less)
        sys.stderr.close()
        return 0
    except OSError as exc:
        print(f"baliza: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line for the operator, the trace on request
        if os.environ.get("BALIZA_DEBUG"):
            raise
        print(
            f"baliza: internal error ({type(exc).__name__}: {exc}); "
            "run again with BALIZA_DEBUG=1 for details and report it",
            file=sys.stderr,
        )
        return 70
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
