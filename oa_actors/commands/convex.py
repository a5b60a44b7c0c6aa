"""`oa-supervisor convex resync | status | retry-quarantine`.

`resync` replays the whole local store (every thread, then every message) into a Convex deployment,
typically a new, empty one; the batch mutations are idempotent, so a deployment that already has
the rows is left unchanged. `status` shows where Convex is and, when a supervisor is running, what
its writer (the drain's state) and backend actors report. `retry-quarantine` puts the rows Convex
refused back into the outbox: through the running supervisor's writer, or directly on the store
under the single-instance lock when none runs. Admin keys are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import time
from typing import Any

from oa_actors.config import Config
from oa_actors.convex import backend, quarantine
from oa_actors.convex.client import ConvexError, ConvexHttpClient
from oa_actors.convex.drain import resync
from oa_actors.machine import Machine, machine
from oa_actors.messages import VerbReply, VerbRequest
from oa_actors.store import Store
from oa_actors.verbs.catalog import CONVEX_BACKEND, CONVEX_RETRY_QUARANTINE, CONVEX_STATUS
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
    q = csub.add_parser(
        "retry-quarantine",
        help="put the rows Convex refused back into the outbox (exit 0: done, 1: could not)",
    )
    q.set_defaults(handler=run_retry_quarantine)
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
            sent = asyncio.run(_resync(store, url, key, machine(cfg)))
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


async def _resync(store: Store, url: str, key: str | None, here: Machine) -> int:
    async with ConvexHttpClient(url, key) as client:
        await client.instance_name()  # a clear "unreachable" before any batch
        # Threads first created by a resync carry this machine, as the writer's live rows do.
        return await resync(store, client, machine=here)


def _ask(cfg: Config, verb: Verb[Any, Any], timeout: float = 10) -> dict[str, Any] | str:
    from oa_actors.runtime import control

    actor = verb.owner
    try:
        reply = control.ask(cfg.run_dir, actor, VerbRequest(verb=verb.name), timeout=timeout)
    except (OSError, RuntimeError) as exc:
        return f"no answer from {actor}: {exc}"
    if not isinstance(reply, VerbReply) or not reply.ok:
        return f"{actor}: {getattr(reply, 'error', 'unexpected reply')}"
    return dict(reply.result)


def _outbox(cfg: Config) -> dict[str, int] | str:
    """The store's outbox counts, read-only (while no supervisor runs)."""
    try:
        store = Store.open(cfg.store_path, readonly=True)
    except sqlite3.Error as exc:
        return f"cannot read {cfg.store_path}: {exc}"
    try:
        return {
            "pending": store.outbox_last_id() - store.outbox_cursor(),
            "quarantined": store.count("quarantine"),
        }
    except sqlite3.Error as exc:
        return f"cannot read {cfg.store_path}: {exc}"
    finally:
        store.close()


def run_retry_quarantine(_args: argparse.Namespace) -> int:
    from oa_actors.runtime import control

    cfg = Config.from_env()
    if control.socket_path(cfg.run_dir).exists():
        answer = _ask(cfg, CONVEX_RETRY_QUARANTINE, timeout=30)
        if isinstance(answer, dict):
            return _requeued(int(answer["requeued"]), "by the running supervisor")
        print(f"oa-supervisor convex: {answer}; re-queuing directly", file=sys.stderr)
    if not cfg.store_path.exists():
        print(f"no store at {cfg.store_path}: nothing is quarantined")
        return 0
    try:
        lock = control.acquire_lock(cfg.run_dir)  # no supervisor may start while we write its store
    except control.AlreadyRunning as exc:
        return _err(f"{exc}; it did not answer, try again when it is up")
    try:
        store = Store.open(cfg.store_path)
        try:
            n = quarantine.requeue(store)
        finally:
            store.close()
    except sqlite3.Error as exc:
        return _err(f"cannot re-queue in {cfg.store_path}: {exc}")
    finally:
        os.close(lock)  # releases the flock
    return _requeued(n, "in the store (sent when the supervisor runs)")


def _requeued(n: int, where: str) -> int:
    if n == 0:
        print("no quarantined rows: nothing to retry")
    else:
        print(f"re-queued {n} quarantined row{'s' if n != 1 else ''} for Convex {where}")
    return 0


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
    elif cfg.store_path.exists():
        doc["outbox"] = _outbox(cfg)
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
        out = doc.get("outbox")
        print("supervisor: not running" + (f"; outbox: {out}" if isinstance(out, str) else ""))
        if isinstance(out, dict):
            print(f"  outbox: {out['pending']} rows pending, {out['quarantined']} quarantined")
        return 0
    for line in describe_backend(doc["backend"]) + describe_writer(doc["writer"]):
        print(line)
    return 0


def _ago(ts: float | None) -> str:
    if not ts:
        return "?"
    secs = max(0.0, time.time() - ts)
    return f"{secs:.0f}s ago" if secs < 120 else f"{secs / 60:.0f} min ago"


def describe_backend(b: dict[str, Any] | str) -> list[str]:
    """The `convex_backend` actor's status as lines for people."""
    if isinstance(b, str):
        return [f"backend: {b}"]
    if b.get("mode") == "none":
        return [f"backend: none ({b.get('detail')})"]
    parts = [str(b.get("state")), "healthy" if b.get("healthy") else "not healthy"]
    if b.get("pid"):
        parts.append(f"pid {b['pid']}")
    parts += [f"restarts {b.get('restarts', 0)}", f"deploy {b.get('deploy')}"]
    lines = [f"backend: {b.get('mode')} {', '.join(parts)}"]
    for label, key in (("deploy error", "deployError"), ("last error", "lastError"), ("note", "detail")):
        if b.get(key):
            lines.append(f"  {label}: {b[key]}")
    return lines


_HINTS = {
    "unauthorized": "the admin key is refused: fix OPENAGENTS_CONVEX_ADMIN_KEY (then restart) or "
    "$OPENAGENTS_HOME/convex/admin_key (picked up within seconds); nothing is lost meanwhile",
    "misconfigured": "the URL does not serve oa-supervisor's functions: check OPENAGENTS_CONVEX_URL "
    "and that convex/ is deployed; nothing is lost meanwhile",
    "unavailable": "Convex cannot be reached; retrying with backoff",
}


def describe_writer(w: dict[str, Any] | str) -> list[str]:
    """The `convex_writer`'s drain status as lines for people (`--json` gives the raw fields)."""
    if isinstance(w, str):
        return [f"writer: {w}"]
    out = w.get("outbox") or {}
    outbox = f"  outbox: {out.get('pending', 0)} rows pending, {out.get('quarantined', 0)} quarantined"
    if not w.get("configured"):
        return [f"writer: not draining ({w.get('detail')})", outbox]
    state = str(w.get("state"))
    head = f"writer: {state} ({w.get('mode')} {w.get('url')})"
    if w.get("pausedSince"):
        head += f", paused since {_ago(w['pausedSince'])}, next probe in {w.get('nextProbeIn')}s"
    lines = [head]
    if state in _HINTS:
        lines.append(f"  {_HINTS[state]}")
    if w.get("lastError") and state != "connected":
        lines.append(f"  last error: {w['lastError']}")
    lag = w.get("lag") or {}
    lines.append(outbox + (f", oldest waiting {lag['seconds']}s" if lag.get("seconds") else ""))
    last = f"{w['lastSuccessAgo']}s ago" if w.get("lastSuccessAgo") is not None else "never"
    lines.append(
        f"  sent: {w.get('sentRows', 0)} rows in {w.get('batches', 0)} batches "
        f"({w.get('ratePerSecond', 0)}/s), {w.get('retries', 0)} retries, last success {last}"
    )
    if out.get("quarantined"):
        lines.append("  `oa-supervisor convex retry-quarantine` resends the quarantined rows")
    return lines
