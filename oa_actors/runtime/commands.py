"""`oa-supervisor run`, `oa-supervisor status` and `oa-supervisor stop`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
from typing import Any

import msgspec

from oa_actors.config import Config, ConfigError
from oa_actors.runtime import control
from oa_actors.runtime.banner import banner
from oa_actors.runtime.child import new_event_loop
from oa_actors.runtime.logs import setup_supervisor_logging
from oa_actors.runtime.privacy import secure_home, use_private_umask, user_umask
from oa_actors.runtime.registry import load_specs
from oa_actors.runtime.supervisor import Policy, Supervisor

log = logging.getLogger("oa.runtime.supervisor")


def register(subparsers: Any) -> None:
    """Add the `run`, `status` and `stop` subcommands."""
    run = subparsers.add_parser(
        "run",
        help="start mirroring: watch session folders, serve the phone bridge, sync to Convex",
        description="Run in the foreground until Ctrl-C or `oa-supervisor stop`: mirror every Codex and "
        "Claude Code session into the local store, serve the bridge for the phone and sync to Convex. The "
        "first lines say where the store and the log file are and what is watched.",
    )
    run.add_argument("--home", help="OPENAGENTS_HOME (default: $OPENAGENTS_HOME or ~/.openagents)")
    run.add_argument("--log-json", action="store_true", help="structured (JSON) log lines")
    run.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ERROR")
    run.add_argument("--actors", help="comma-separated subset of actors to run")
    run.add_argument(
        "--specs", help="module:ATTR of an actor spec list (default: $OA_ACTOR_SPECS or built-in)"
    )
    run.add_argument("--grace-period", type=float, default=5.0, help="seconds before SIGKILL on shutdown")
    run.add_argument(
        "--max-restarts", type=int, default=5, help="restart intensity per actor: quick failures allowed ..."
    )
    run.add_argument(
        "--restart-window",
        type=float,
        default=30.0,
        help="... within this many seconds; beyond it the actor is `failed` and retried later",
    )
    run.add_argument(
        "--quick-failure",
        type=float,
        default=3.0,
        help="a failure counts towards --max-restarts if the actor ran less than this many seconds",
    )
    run.add_argument(
        "--failed-retry", type=float, default=30.0, help="seconds before a failed actor is retried ..."
    )
    run.add_argument(
        "--failed-retry-max", type=float, default=300.0, help="... doubling after each failure up to this"
    )
    run.add_argument("--backoff-base", type=float, default=0.1, help="delay of the second quick restart")
    run.add_argument("--backoff-max", type=float, default=5.0, help="longest delay between restarts")
    run.add_argument(
        "--backoff-reset",
        type=float,
        default=10.0,
        help="an actor that ran this many seconds restarts without delay",
    )
    run.add_argument("--health-interval", type=float, default=1.0, help="seconds between health pings")
    run.add_argument("--health-timeout", type=float, default=10.0, help="kill an actor silent this long")
    run.add_argument("--start-method", choices=["forkserver", "spawn"], help="multiprocessing start method")
    run.set_defaults(handler=cmd_run)

    status = subparsers.add_parser("status", help="is it running? the state of each of its parts (actors)")
    status.add_argument("--home", help="OPENAGENTS_HOME of the supervisor")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=cmd_status)

    stop = subparsers.add_parser(
        "stop",
        help="stop the running supervisor (waits until every actor has stopped)",
        description="Ask the supervisor of this OPENAGENTS_HOME to stop, as Ctrl-C would, and wait until "
        "it has. Exit 0 once stopped, 1 when none runs.",
    )
    stop.add_argument("--home", help="OPENAGENTS_HOME of the supervisor")
    stop.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for it to stop (default 60)"
    )
    stop.set_defaults(handler=cmd_stop)


def _config(args: argparse.Namespace) -> Config:
    """Flags > environment > config.toml > defaults (a ConfigError is reported by cli.main)."""
    return Config.load(
        flags={
            "home": args.home,
            "actor_specs": getattr(args, "specs", None),
            "start_method": getattr(args, "start_method", None),
        }
    )


def cmd_run(args: argparse.Namespace) -> int:
    """Run until SIGINT/SIGTERM (exit 0; 130 after a second Ctrl-C). A failing actor never stops it."""
    use_private_umask()
    try:
        config = _config(args).with_overrides(user_umask=user_umask())
    except ConfigError as exc:
        print(f"oa-supervisor: not starting: {exc}", file=sys.stderr)
        return 2
    level = args.log_level.upper()
    tightened = secure_home(config.home)
    setup_supervisor_logging(config.logs_dir, level, args.log_json)
    for path, mode in tightened:
        log.warning("%s was readable by other users (mode %o): removed their access", path, mode)
    for line in banner(config, config.logs_dir / "supervisor.log"):
        log.info("%s", line)
    try:
        specs = load_specs(config.actor_specs, args.actors)
    except (ValueError, ImportError, AttributeError) as exc:
        print(f"oa-supervisor: {exc}", file=sys.stderr)
        return 2
    policy = Policy(
        grace_period=args.grace_period,
        max_restarts=args.max_restarts,
        restart_window=args.restart_window,
        quick_failure=args.quick_failure,
        backoff_base=args.backoff_base,
        backoff_max=args.backoff_max,
        backoff_reset=args.backoff_reset,
        failed_retry=args.failed_retry,
        failed_retry_max=args.failed_retry_max,
        health_interval=args.health_interval,
        health_timeout=args.health_timeout,
    )
    sup = Supervisor(config, specs, policy, log_level=level)
    try:
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            return runner.run(sup.run())
    except control.AlreadyRunning as exc:
        print(f"oa-supervisor: {exc}", file=sys.stderr)
        return 3


def cmd_stop(args: argparse.Namespace) -> int:
    """Send `StopRequest` over the control socket and wait until the lock is released."""
    config = _config(args)
    try:
        reply = control.request_status(config.run_dir, stop=True)
    except (ConnectionError, OSError):
        print(
            f"oa-supervisor stop: no supervisor is running for OPENAGENTS_HOME={config.home}", file=sys.stderr
        )
        return 1
    deadline = time.monotonic() + args.timeout
    while control.supervisor_running(config.run_dir):
        if time.monotonic() > deadline:
            print(
                f"oa-supervisor stop: the supervisor (pid {reply.pid}) is still stopping "
                f"after {args.timeout:.0f}s",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.1)
    print(f"oa-supervisor stopped (pid {reply.pid}, {len(reply.actors)} actors)")
    return 0


def _fmt_uptime(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def cmd_status(args: argparse.Namespace) -> int:
    """Print each actor's pid, state, restarts, uptime, inbox depth and message counts."""
    config = _config(args)
    try:
        reply = control.request_status(config.run_dir)
    except (ConnectionError, OSError) as exc:
        print(f"oa-supervisor: {exc}", file=sys.stderr)
        return 1
    if args.json:
        # Every field, defaults included (the wire format omits defaults).
        doc = {f: getattr(reply, f) for f in reply.__struct_fields__ if f != "actors"}
        doc["actors"] = [{f: getattr(a, f) for f in a.__struct_fields__} for a in reply.actors]
        print(json.dumps(msgspec.to_builtins(doc), indent=2))
        return 0
    print(f"supervisor pid {reply.pid}  uptime {_fmt_uptime(reply.uptime)}  home {reply.home}")
    cols = (
        f"{'ACTOR':<18}{'PID':>8}  {'STATE':<9}{'RESTARTS':>9}{'UPTIME':>10}{'INBOX':>7}{'IN':>10}{'OUT':>10}"
    )
    print(cols)
    for a in reply.actors:
        pid = str(a.pid) if a.pid else "-"
        print(
            f"{a.name:<18}{pid:>8}  {a.state:<9}{a.restarts:>9}{_fmt_uptime(a.uptime):>10}"
            f"{a.inbox:>7}{a.msgs_in:>10}{a.msgs_out:>10}"
        )
        summary = a.health.get("summary") if isinstance(a.health, dict) else None
        if summary:  # an actor's one-line state (the indexer: backlog and rate)
            print(f"{'':<18}{summary}")
        if a.last_error:
            print(f"{'':<18}last error: {a.last_error}")
        if a.retry_at:
            when = time.strftime("%H:%M:%S", time.localtime(a.retry_at))
            left = max(0.0, a.retry_at - time.time())
            print(f"{'':<18}next retry in {left:.0f}s (at {when})")
    return 0
