"""`oa-supervisor devices [--json]`, `oa-supervisor devices revoke NAME` and
`oa-supervisor devices link NAME`.

Lists the paired devices (never a token: only names, admin flag, state and times) and revokes one:
the running bridge notices within a second, closes that device's connections and web sessions
(close code 1008) and answers its token with 401; the other devices keep working. `link` prints a
fresh browser link (a one-time login code, logincodes.py) for a device paired before.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from oa_actors.config import Config
from oa_actors.gateway.devices import DeviceError, DeviceRegistry


def register(sub: Any) -> None:
    p = sub.add_parser("devices", help="list the paired devices, or revoke one")
    p.add_argument(
        "--json",
        action="store_true",
        help="print [{name, admin, state, createdAt, lastSeenAt, expiresAt, revokedAt}] as JSON (ms)",
    )
    p.set_defaults(handler=run_devices)
    verbs = p.add_subparsers(dest="devices_command", metavar="ACTION")
    r = verbs.add_parser("revoke", help="lock a device out now (its connections close, its token is refused)")
    r.add_argument("name", metavar="NAME", help="the device's name (see `oa-supervisor devices`)")
    r.set_defaults(handler=run_revoke)
    k = verbs.add_parser(
        "link", help="print a new one-time browser link of a paired device (works once, 10 minutes)"
    )
    k.add_argument("name", metavar="NAME", help="the device's name (see `oa-supervisor devices`)")
    k.add_argument("--host", help="host or IP in the link (default: as `oa-supervisor pair`)")
    k.add_argument("--port", type=int, help="port (default: from OPENAGENTS_BRIDGE_BIND, 8787)")
    k.add_argument("--json", action="store_true", help="print {device, webUrl, webUrlExpiresAt} as JSON")
    k.set_defaults(handler=run_link)


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


def run_devices(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    cfg = Config.from_env()
    try:
        devices = DeviceRegistry.open(cfg.home, cfg.bridge_token).list()
    except DeviceError as exc:
        print(f"oa-supervisor devices: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(devices), file=out)
        return 0
    if not devices:
        print("no paired devices: pair one with `oa-supervisor pair --device NAME`", file=sys.stderr)
        return 0
    print(f"{'DEVICE':<20}{'STATE':<9}{'ADMIN':<7}{'PAIRED':<18}{'LAST SEEN':<18}EXPIRES", file=out)
    for d in devices:
        admin = "yes" if d["admin"] else "no"
        print(
            f"{d['name']:<20}{d['state']:<9}{admin:<7}{_when(d['createdAt']):<18}"
            f"{_when(d['lastSeenAt']):<18}{_when(d['expiresAt'])}",
            file=out,
        )
    return 0


def run_revoke(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    cfg = Config.from_env()
    try:
        DeviceRegistry.open(cfg.home, cfg.bridge_token).revoke(args.name)
    except DeviceError as exc:
        print(f"oa-supervisor devices revoke: {exc}", file=sys.stderr)
        return 2
    print(f"revoked {args.name!r}: its token is refused and its connections close within a second", file=out)
    return 0


def run_link(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """A new one-time browser link for the device `args.name` (its token is not shown again)."""
    from oa_actors.commands.pair import link_host, web_url
    from oa_actors.gateway.tls import fingerprint, tls_files

    out = out or sys.stdout
    cfg = Config.from_env()
    try:
        code, expires = DeviceRegistry.open(cfg.home, cfg.bridge_token).login_code(args.name)
    except DeviceError as exc:
        print(f"oa-supervisor devices link: {exc}", file=sys.stderr)
        return 2
    tls = tls_files(cfg)
    host, port = link_host(cfg, args.host), args.port or cfg.bridge_port
    url = web_url(host, port, code, tls=tls is not None, cert_sha256=fingerprint(tls[0]) if tls else None)
    if args.json:
        doc = {"device": args.name, "webUrl": url, "webUrlExpiresAt": int(expires * 1000)}
        print(json.dumps(doc), file=out)
        return 0
    print(f"browser link of {args.name!r} (works once, until {_when(int(expires * 1000))}):", file=out)
    print(f"  {url}", file=out)
    return 0
