"""``baliza admin``: the federation directory, keys and local trust decisions.

Directory proposals travel as files that administrators sign in turn, each
on a machine of their own (offline signing: the administrator key never
needs to sit on a server). ``apply`` hands the signed file to a running node
through the admin API (it then gossips it to every peer), or with
``--offline`` writes it into a stopped node's database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from baliza.crypto import AgencyKeys, PublicKeys, Suite
from baliza.crypto.directory import diff, directory_fingerprint, propose
from baliza.crypto.directory import sign_proposal as add_signature
from baliza.node.cli.support import (
    PASSPHRASE_HELP,
    api_client,
    data_dir,
    opt_path,
    print_json,
    when,
)
from baliza.node.core.clock import now_ms
from baliza.node.core.config import PUBLIC_FILE, NodeConfig
from baliza.node.core.keyring import read_key_file, read_passphrase, save_keys, write_key_file
from baliza.node.services.directory_build import DAY_MS, Changes, found, next_version
from baliza.node.services.directory_sync import (
    describe_directory,
    load_directory,
    store_directory,
)
from baliza.node.services.member_card import MemberCard, load_card, save_card
from baliza.node.services.trust_admin import record_trust_event
from baliza.node.storage import Database
from baliza.protocol.directory import RevocationReason, SignedDirectory
from baliza.protocol.errors import ReasonCode, UsageError
from baliza.protocol.federation import MEDIA_TYPE
from baliza.protocol.ids import agency_id

YEAR_MS = 365 * DAY_MS
Command = Callable[..., argparse.ArgumentParser]


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: {exc.strerror}") from None


def _write(path: str, data: bytes) -> None:
    Path(path).write_bytes(data)


def _admin_public(path: str) -> PublicKeys:
    """An administrator's public key from the ``.pub.json`` file ``keys generate`` wrote."""
    try:
        obj = json.loads(_read(path))
        keys = PublicKeys.from_bytes(bytes.fromhex(obj["keys"]))
    except (ValueError, KeyError, TypeError):
        raise UsageError(ReasonCode.BAD_CONFIG, f"{path}: not an administrator key file") from None
    if obj.get("fingerprint") not in (None, keys.fingerprint()):
        raise UsageError(ReasonCode.KEY_ID_MISMATCH, f"{path}: fingerprint does not match")
    return keys


def _time(raw: str) -> int:
    if raw == "now":
        return now_ms()
    try:
        return int(raw)
    except ValueError:
        raise UsageError(ReasonCode.BAD_FORMAT, "times are `now` or Unix milliseconds") from None


# -- directory -------------------------------------------------------------------------


def cmd_directory_init(args: argparse.Namespace) -> int:
    """Found a federation: version 1 from member cards and administrator keys."""
    directory = found(
        federation=args.federation,
        cards=[load_card(Path(p)) for p in args.member],
        administrators=[_admin_public(p) for p in args.admin],
        threshold=args.threshold,
        now_ms=now_ms(),
        valid_days=args.valid_days,
    )
    proposal = propose(directory)
    _write(args.out, proposal)
    print(f"proposal for version 1 written to {args.out}")
    print(f"fingerprint: {directory_fingerprint(proposal)}")
    return 0


def cmd_directory_propose(args: argparse.Namespace) -> int:
    """Propose version N+1 from the signed version N and the changes asked for."""
    current = SignedDirectory.from_bytes(_read(args.current)).directory
    changes = Changes(
        add_members=tuple(load_card(Path(p)) for p in args.add_member or ()),
        remove_members=tuple(agency_id(a, "--remove-member") for a in args.remove_member or ()),
        add_keys=tuple(load_card(Path(p)) for p in args.add_key or ()),
        retire_keys=tuple((*_key_change(k), _time(k.split("@")[1])) for k in args.retire_key or ()),
        revoke_keys=tuple(
            (*_key_change(k), _time(k.split("@")[1]), RevocationReason(args.reason))
            for k in args.revoke or ()
        ),
        administrators=tuple(_admin_public(p) for p in args.admin) if args.admin else None,
        threshold=args.threshold,
        valid_days=args.valid_days,
        set_urls=tuple(_url_change(spec) for spec in args.set_url or ()),
    )
    proposal = propose(next_version(current, changes, now_ms=now_ms()))
    _write(args.out, proposal)
    new = SignedDirectory.from_bytes(proposal).directory
    print(f"proposal for version {new.version} written to {args.out}")
    for line in diff(current, new):
        print(f"  {line}")
    print(f"fingerprint: {directory_fingerprint(proposal)}")
    return 0


def _url_change(spec: str) -> tuple[str, str]:
    """``agency=URL`` -> (agency, URL), the URL as a member card must hold it."""
    who, sep, url = spec.partition("=")
    if not sep or not url.startswith(("http://", "https://")) or " " in url:
        raise UsageError(
            ReasonCode.BAD_FORMAT,
            f"--set-url {spec!r}: expected agency=URL, e.g. co.polfa.ctg=https://baliza.polfa.example",
        )
    return agency_id(who, "--set-url"), url.rstrip("/")


def _key_change(spec: str) -> tuple[str, str]:
    """``agency:keyid@time`` -> (agency, key id prefix)."""
    try:
        who, rest = spec.split(":", 1)
        key, _ = rest.split("@", 1)
    except ValueError:
        raise UsageError(ReasonCode.BAD_FORMAT, f"{spec!r}: expected agency:keyid@time") from None
    return agency_id(who, "agency"), key


def cmd_directory_sign(args: argparse.Namespace) -> int:
    """Add an administrator's signature to a proposal file (works offline)."""
    admin = read_key_file(Path(args.key), read_passphrase(opt_path(args.passphrase_file)))
    signed = add_signature(_read(args.file), admin)
    out = args.out or args.file
    _write(out, signed)
    count = len(SignedDirectory.from_bytes(signed).signatures)
    print(
        f"signed by {admin.agency} ({admin.public().fingerprint()}); {count} signature(s) in {out}"
    )
    return 0


def cmd_directory_apply(args: argparse.Namespace) -> int:
    """Apply a signed directory to a node: via its admin API, or --offline to its database."""
    signed = _read(args.file)
    if args.offline:
        config = NodeConfig.load(data_dir(args))
        version = asyncio.run(_apply_offline(config, signed, args.fingerprint))
        print(f"directory version {version} in force at {config.agency}")
        return 0
    path = "/api/v1/admin/directory"
    if args.fingerprint:
        path += "?" + f"fingerprint={args.fingerprint}".replace(" ", "+")
    answer = asyncio.run(api_client(args).post_bytes(path, signed, MEDIA_TYPE))
    state = "applied and passed on to peers" if answer["applied"] else "already in force"
    print(f"directory version {answer['version']}: {state}")
    return 0


async def _apply_offline(config: NodeConfig, signed: bytes, fingerprint: str | None) -> int:
    db = await Database.open(config.db_url)
    try:
        await db.upgrade()
        current = await load_directory(db)
        trusted = await store_directory(
            db, current, signed, actor="local operator (offline)", fingerprint=fingerprint
        )
        in_force = trusted or current
        assert in_force is not None  # store_directory returns the new one or raises
        return in_force.directory.version
    finally:
        await db.close()


def cmd_directory_show(args: argparse.Namespace) -> int:
    """Show a directory file, or the one in force at the node."""
    if args.file:
        print_json(describe_directory(_read(args.file)))
    else:
        print_json(asyncio.run(api_client(args).get("/api/v1/admin/directory", {})))
    return 0


def cmd_directory_diff(args: argparse.Namespace) -> int:
    """What changes from one directory file to another."""
    old = SignedDirectory.from_bytes(_read(args.old)).directory
    new = SignedDirectory.from_bytes(_read(args.new)).directory
    for line in diff(old, new) or ["no change"]:
        print(line)
    return 0


# -- keys ------------------------------------------------------------------------------


def cmd_keys_generate(args: argparse.Namespace) -> int:
    """Create an administrator key (kept offline) and its public file."""
    agency = agency_id(args.agency, "--agency")
    now = now_ms()
    keys = AgencyKeys.generate(
        agency, Suite(args.suite), valid_from_ms=now, valid_until_ms=now + args.years * YEAR_MS
    )
    write_key_file(
        Path(args.out), keys, read_passphrase(opt_path(args.passphrase_file), confirm=True)
    )
    public = keys.public()
    pub_path = Path(args.out).with_suffix(".pub.json")
    pub_path.write_text(
        json.dumps(
            {
                "agency": agency,
                "keys": public.to_bytes().hex(),
                "fingerprint": public.fingerprint(),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"administrator key of {agency} in {args.out}, public part in {pub_path}")
    print(f"fingerprint: {public.fingerprint()}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Give the node a new key set; it signs with it once the directory lists it."""
    folder = data_dir(args)
    config = NodeConfig.load(folder)
    passphrase = read_passphrase(opt_path(args.passphrase_file))
    now = now_ms()
    keys = AgencyKeys.generate(
        config.agency, Suite(args.suite), valid_from_ms=now, valid_until_ms=now + 2 * YEAR_MS
    )
    save_keys(folder, keys, passphrase)
    card = MemberCard(agency=config.agency, name=config.name, url=config.url, keys=keys.public())
    save_card(card, folder / PUBLIC_FILE)
    asyncio.run(record_event(config, "key.rotated", bytes(keys.public().signing_key_id).hex()))
    print(f"new key set for {config.agency}, fingerprint {keys.public().fingerprint()}")
    print(f"  restart the node, and give {folder / PUBLIC_FILE} to the administrators:")
    print(
        "  baliza admin directory propose --add-key public.json (and --retire-key for the old one)"
    )
    return 0


async def record_event(config: NodeConfig, action: str, subject: str) -> None:
    db = await Database.open(config.db_url)
    try:
        await db.upgrade()
        await record_trust_event(
            db, at_ms=now_ms(), actor="local operator", action=action, subject=subject
        )
    finally:
        await db.close()


def cmd_keys_list(args: argparse.Namespace) -> int:
    """The node's key sets and whether the directory vouches for them."""
    answer = asyncio.run(api_client(args).get("/api/v1/admin/keys", {}))
    for key in answer["keys"]:
        mark = "*" if key["signing_now"] else " "
        print(f"{mark} {key['fingerprint']}  {key['signing_key_id'][:16]}  {key['status']}")
    return 0


# -- peers and events ------------------------------------------------------------------


def cmd_peers_list(args: argparse.Namespace) -> int:
    """Members as this node sees them, with local blocks and pauses."""
    answer = asyncio.run(api_client(args).get("/api/v1/admin/peers", {}))
    for peer in answer["peers"]:
        local = f"  [{peer['local']}: {peer['reason']}]" if peer["local"] else ""
        print(f"{peer['agency']:22} {peer['url']:30} {peer['fingerprint']}{local}")
    return 0


def cmd_peers_block(args: argparse.Namespace) -> int:
    """Block (or --pause) an agency at this node only."""
    body: dict[str, Any] = {"kind": "pause" if args.pause else "block", "reason": args.reason}
    asyncio.run(api_client(args).post(f"/api/v1/admin/peers/{args.agency}/block", body))
    print(f"{args.agency}: {body['kind']} in force at this node")
    return 0


def cmd_peers_unblock(args: argparse.Namespace) -> int:
    """Lift a local block or pause."""
    asyncio.run(api_client(args).delete(f"/api/v1/admin/peers/{args.agency}/block"))
    print(f"{args.agency}: back to what the directory allows")
    return 0


def cmd_events(args: argparse.Namespace) -> int:
    """The trust-event log of the node."""
    for e in asyncio.run(api_client(args).get("/api/v1/admin/events", {})):
        print(f"{e['seq']:>5} {when(e['at_ms'])} {e['actor']:28} {e['action']:20} {e['subject']}")
    return 0


def add_admin_commands(
    sub: Any,
    command: Command,
    data: Callable[[argparse.ArgumentParser], None],
    api: Callable[[argparse.ArgumentParser], None],
) -> None:
    """Register ``baliza admin ...`` on the main parser."""
    admin = command("admin", lambda a: 2, "federation directory, keys, local trust").add_subparsers(
        dest="admin_command", required=True, metavar="AREA"
    )
    directory = command("directory", lambda a: 2, "the federation directory", admin).add_subparsers(
        dest="directory_command", required=True, metavar="ACTION"
    )
    p = command("init", cmd_directory_init, "found a federation: proposal for version 1", directory)
    p.add_argument("--federation", required=True, help="federation name, e.g. latam-eu-ccp")
    p.add_argument("--member", action="append", required=True, help="a member's public.json")
    p.add_argument("--admin", action="append", required=True, help="an administrator .pub.json")
    p.add_argument("--threshold", type=int, required=True, help="administrator signatures needed")
    p.add_argument(
        "--valid-days", type=int, default=90, help="days the directory stays valid (default 90)"
    )
    p.add_argument("--out", required=True, help="file to write")

    p = command("propose", cmd_directory_propose, "propose version N+1 with changes", directory)
    p.add_argument("current", help="the signed directory in force")
    p.add_argument("--add-member", action="append", help="a new member's public.json")
    p.add_argument("--remove-member", action="append", help="agency id")
    p.add_argument("--add-key", action="append", help="a member's public.json after rotation")
    p.add_argument("--retire-key", action="append", help="agency:keyid@time (end of validity)")
    p.add_argument("--revoke", action="append", help="agency:keyid@time (compromised key)")
    p.add_argument(
        "--set-url", action="append", help="agency=URL: a member's node moved (its public_url)"
    )
    p.add_argument(
        "--reason",
        default="key_compromise",
        choices=[r.value for r in RevocationReason],
        help="why the key is revoked (default key_compromise)",
    )
    p.add_argument("--admin", action="append", help="new administrator set (.pub.json files)")
    p.add_argument("--threshold", type=int, help="new number of signatures needed")
    p.add_argument(
        "--valid-days", type=int, default=90, help="days the directory stays valid (default 90)"
    )
    p.add_argument("--out", required=True, help="file to write")

    p = command("sign", cmd_directory_sign, "add your administrator signature", directory)
    p.add_argument("file", help="the proposal to sign")
    p.add_argument("--key", required=True, help="administrator key file (keys generate)")
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
    p.add_argument("--out", help="default: sign the file in place")

    p = command("apply", cmd_directory_apply, "apply a signed directory to a node", directory)
    api(p)
    p.add_argument("file", help="the signed directory")
    p.add_argument("--fingerprint", help="pin the first directory (read out of band)")
    p.add_argument("--offline", action="store_true", help="write to a stopped node's database")

    p = command("show", cmd_directory_show, "show a directory (file or the node's)", directory)
    api(p)
    p.add_argument("file", nargs="?", help="a directory file (default: the node's own)")

    p = command("diff", cmd_directory_diff, "changes between two directory files", directory)
    p.add_argument("old", help="the older directory file")
    p.add_argument("new", help="the newer directory file")

    keys = command("keys", lambda a: 2, "keys", admin).add_subparsers(
        dest="keys_command", required=True, metavar="ACTION"
    )
    p = command("generate", cmd_keys_generate, "create an administrator key (offline)", keys)
    p.add_argument("--agency", required=True, help="the administrator's agency id")
    p.add_argument("--out", required=True, help="file to write")
    p.add_argument("--years", type=int, default=3, help="validity in years (default 3)")
    p.add_argument(
        "--suite",
        default=Suite.HYBRID.value,
        choices=[s.value for s in Suite],
        help="signature and encryption suite (default hybrid: classic + post-quantum)",
    )
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
    p = command("rotate", cmd_keys_rotate, "give this node a new key set", keys)
    data(p)
    p.add_argument(
        "--suite",
        default=Suite.HYBRID.value,
        choices=[s.value for s in Suite],
        help="signature and encryption suite (default hybrid: classic + post-quantum)",
    )
    p.add_argument("--passphrase-file", help=PASSPHRASE_HELP)
    p = command(
        "revoke", cmd_directory_propose, "propose a revocation (alias of propose --revoke)", keys
    )
    p.add_argument("current", help="the signed directory in force")
    p.add_argument("--revoke", action="append", required=True, help="agency:keyid@time")
    p.add_argument(
        "--reason",
        default="key_compromise",
        choices=[r.value for r in RevocationReason],
        help="why the key is revoked (default key_compromise)",
    )
    p.add_argument(
        "--valid-days", type=int, default=90, help="days the directory stays valid (default 90)"
    )
    p.add_argument("--out", required=True, help="file to write")
    p.set_defaults(
        add_member=None,
        remove_member=None,
        add_key=None,
        retire_key=None,
        admin=None,
        set_url=None,
        threshold=None,
    )
    p = command("list", cmd_keys_list, "this node's keys and their status", keys)
    api(p)

    peers = command("peers", lambda a: 2, "local decisions about members", admin).add_subparsers(
        dest="peers_command", required=True, metavar="ACTION"
    )
    p = command("list", cmd_peers_list, "members and local blocks", peers)
    api(p)
    p = command("block", cmd_peers_block, "refuse an agency here (or --pause delivery)", peers)
    api(p)
    p.add_argument("agency", help="the agency id")
    p.add_argument("--reason", required=True, help="why, for the event log")
    p.add_argument(
        "--pause", action="store_true", help="only pause delivery to it; still accept from it"
    )
    p = command("unblock", cmd_peers_unblock, "lift a block or pause", peers)
    api(p)
    p.add_argument("agency", help="the agency id")

    p = command("events", cmd_events, "who changed what trust, when", admin)
    api(p)
