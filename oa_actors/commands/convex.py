"""`oa-supervisor convex resync` and `oa-supervisor convex status`.

`resync` replays the whole local store (every thread, then every message) into a Convex deployment,
typically a new, empty one; the batch mutations are idempotent, so a deployment that already has
the rows is left unchanged. `status` shows where Convex is and, when a supervisor is running, what
its writer and backend actors report. Admin keys are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import time
from typing import Any

from oa_actors.config import Config
from oa_actors.convex import backend
from oa_actors.convex.client import ConvexError, ConvexHttpClient
from oa_actors.convex.drain import resync
from oa_actors.messages import VerbReply, VerbRequest
from oa_actors.store import Store
from oa_actors.verbs.catalog import CONVEX_BACKEND, CONVEX_STATUS
from oa_actors.verbs.registry import Verb


def register(sub: Any) -> None:
    p = sub.add_parser("convex", help="the Convex deployment: resync the store into it, show its status")
    csub = p.add_subparsers(dest="convex_command", metavar="SUBCOMMAND")
    r = csub.add_parser("resync", help="replay the whole local store into a (new, empty) Convex deployment")
    r.add_argument("--url", help="deployment URL (default: OPENAGENTS_CONVEX_URL or the local backend)")
    r.add_argument(
        "--admin-key", help="admin or deploy key (default: OPENAGENTS_CONVEX_ADMIN_KEY or the saved key)"
    )
    r.set_defaults(handler=run_resync)
    s = csub.add_parser("status", help="where Convex is, and the running writer's drain status")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(handler=run_status)
    p.set_defaults(handler=lambda _args: _usage(p))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _err(msg: str) -> int:
    print(f"oa-supervisor convex: {msg}", file=sys.stderr)
    return 1


def run_resync(args: argparse.Namespace) -> int:
    cfg = Config.from_env()
    target = backend.target(cfg)
    url = args.url or (target.url if target else None)
    if not url:
        return _err(
            "no Convex deployment configured: pass --url (and --admin-key), set OPENAGENTS_CONVEX_URL, "
            "or install convex-local-backend (OPENAGENTS_CONVEX_BIN, $OPENAGENTS_HOME/bin/)"
        )
    key = args.admin_key or (
        target.admin_key if target and (not args.url or target.url == url.rstrip("/")) else None
    )
    if not cfg.store_path.exists():
        return _err(f"no store at {cfg.store_path} (nothing imported yet)")
    store = Store.open(cfg.store_path, readonly=True)
    try:
        threads = store.count("threads")
        messages = store.count("messages")
        t0 = time.monotonic()
        try:
            sent = asyncio.run(_resync(store, url, key))
        except ConvexError as exc:
            return _err(f"resync to {url} failed: {exc}")
        except sqlite3.Error as exc:  # a refused row cannot be quarantined in a read-only store
            return _err(f"resync to {url} stopped: Convex refused a row and the store is read-only ({exc})")
        secs = time.monotonic() - t0
    finally:
        store.close()
    print(f"resynced {threads} threads and {messages} messages to {url}: {sent} rows sent in {secs:.1f}s")
    if sent < threads + messages:
        print(
            f"oa-supervisor convex: {threads + messages - sent} rows were refused by Convex", file=sys.stderr
        )
        return 1
    return 0


async def _resync(store: Store, url: str, key: str | None) -> int:
    async with ConvexHttpClient(url, key) as client:
        await client.instance_name()  # a clear "unreachable" before any batch
        return await resync(store, client)


def _ask(cfg: Config, verb: Verb[Any, Any]) -> dict[str, Any] | str:
    from oa_actors.runtime import control

    actor = verb.owner
    try:
        reply = control.ask(cfg.run_dir, actor, VerbRequest(verb=verb.name), timeout=10)
    except (OSError, RuntimeError) as exc:
        return f"no answer from {actor}: {exc}"
    if not isinstance(reply, VerbReply) or not reply.ok:
        return f"{actor}: {getattr(reply, 'error', 'unexpected reply')}"
    return dict(reply.result)


def run_status(args: argparse.Namespace) -> int:
    from oa_actors.runtime import control

    cfg = Config.from_env()
    target = backend.target(cfg)
    doc: dict[str, Any] = {
        "target": None
        if target is None
        else {"mode": target.mode, "url": target.url, "adminKey": bool(target.admin_key)},
        "binary": str(b) if (b := backend.find_binary(cfg)) else None,
        "supervisor": control.socket_path(cfg.run_dir).exists(),
    }
    if doc["supervisor"]:
        doc["writer"] = _ask(cfg, CONVEX_STATUS)
        doc["backend"] = _ask(cfg, CONVEX_BACKEND)
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
        return 0
    if target is None:
        print(
            "convex: not configured (no convex-local-backend binary and no OPENAGENTS_CONVEX_URL); "
            "rows wait in the local store's outbox"
        )
    else:
        print(f"convex: {target.mode} {target.url} (admin key {'set' if target.admin_key else 'missing'})")
    if doc["binary"]:
        print(f"binary: {doc['binary']}")
    if not doc["supervisor"]:
        print("supervisor: not running")
        return 0
    for name in ("backend", "writer"):
        val = doc[name]
        print(f"{name}: " + (val if isinstance(val, str) else json.dumps(val, default=str)))
    return 0
