"""The local Convex backend: find the binary, keep its secrets, run it, check it, deploy to it.

Secrets live under `$OPENAGENTS_HOME/convex/` in files with mode 0600 and never appear in logs:
`instance_name`, `instance_secret` (32 random bytes, hex) and `admin_key`. The admin key comes
from `OPENAGENTS_CONVEX_ADMIN_KEY`, the file, or the binary's key generator (`<bin> keygen
admin-key`, or the `generate_key` tool shipped beside it).

The instance secret reaches the binary and its key generator through the environment
(`INSTANCE_SECRET`, clap's `env` source) when the binary's `--help` lists that source, never on
the command line, where every local user can read it (`ps`, /proc/<pid>/cmdline). Today's
convex-local-backend takes it only as `--instance-secret` (crates/local_backend/src/config.rs has
no `env` for it); such a binary is refused with `SecretOnCommandLine` unless the user accepts the
exposure (OPENAGENTS_CONVEX_SECRET_IN_ARGV=1).

The process is started with `--instance-name`, `--interface`, `--port`, `--local-storage`,
`--disable-beacon` and its SQLite file under `$OPENAGENTS_HOME/convex/` (docs/convex.md), waited
for with `GET /instance_name`
(a cold start can take a while), and only a process this manager started is ever stopped: a port
held by something else is reported, never killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from oa_actors.config import Config, write_secret
from oa_actors.convex.deploy_project import NoConvexProject, deploy_project
from oa_actors.convex.instance_secret import SECRET_ENV, secret_from_env

log = logging.getLogger("oa.convex.backend")

BINARY_NAME = "convex-local-backend"
COLD_START_TIMEOUT = 120.0
_refused_warned: set[Path] = set()


class BackendError(RuntimeError):
    """The backend cannot be started or reached (the message says why and what to do)."""


class SecretOnCommandLine(BackendError):
    """The binary takes its instance secret only on the command line, and the user did not accept
    that (a set-up problem: retrying changes nothing until the binary or the setting changes)."""

    def __init__(self, binary: Path) -> None:
        super().__init__(
            f"{binary} takes its instance secret only on the command line (--instance-secret), where "
            "every local user can read it (ps, /proc/<pid>/cmdline), so it was not started. Use a "
            f"convex-local-backend that reads {SECRET_ENV} from the environment, a remote deployment "
            "(OPENAGENTS_CONVEX_URL), or accept the exposure with OPENAGENTS_CONVEX_SECRET_IN_ARGV=1"
        )


@dataclass(frozen=True)
class Target:
    """Where the writer sends rows: a URL and the key to use."""

    url: str
    admin_key: str | None
    mode: str  # "local" | "remote"


def find_binary(cfg: Config) -> Path | None:
    """OPENAGENTS_CONVEX_BIN, then `$OPENAGENTS_HOME/bin/`, then the Convex CLI cache (newest)."""
    if cfg.convex_bin:
        p = Path(cfg.convex_bin).expanduser()
        return p if p.is_file() and os.access(p, os.X_OK) else None
    candidates = [cfg.home / "bin" / BINARY_NAME]
    cache = Path(cfg.environ.get("HOME") or Path.home()) / ".cache" / "convex" / "binaries"
    if cache.is_dir():
        candidates += sorted(cache.glob(f"*/{BINARY_NAME}"), key=lambda p: p.stat().st_mtime, reverse=True)
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def secrets_dir(cfg: Config) -> Path:
    return cfg.home / "convex"


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _create_once(path: Path, value: str) -> str:
    """Create a secret file if it does not exist yet and return its content.

    The writer and the backend actor both call this at start-up: whoever creates the file first
    wins (hard link of a private temp file: atomic, never overwritten), the other reads it.
    """
    existing = _read(path)
    if existing is not None:
        return existing
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    write_secret(tmp, value + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path) or value


def instance_credentials(cfg: Config) -> tuple[str, str]:
    """The instance name and secret (32 random bytes, hex), created once and kept (mode 0600)."""
    d = secrets_dir(cfg)
    name = _create_once(d / "instance_name", f"oa-{secrets.token_hex(4)}")
    secret = _create_once(d / "instance_secret", secrets.token_hex(32))
    return name, secret


def admin_key(cfg: Config, binary: Path | None) -> str | None:
    """The admin key: env, then the saved file, then generated with the binary's key tool."""
    if cfg.convex_admin_key:
        return cfg.convex_admin_key
    path = secrets_dir(cfg) / "admin_key"
    key = _read(path)
    if key is not None:
        return key
    if binary is None:
        return None
    name, secret = instance_credentials(cfg)
    keygen = [str(binary), "keygen", "admin-key", "--instance-name", name]
    # (argv, environment): the secret in the environment when the key generator reads it there.
    tools: list[tuple[list[str], dict[str, str]]] = []
    if secret_from_env(keygen, cfg.environ):
        tools.append((keygen, cfg.child_env({SECRET_ENV: secret})))
    elif cfg.convex_secret_in_argv:
        generator = binary.with_name("generate_key")
        if generator.exists():
            tools.append(([str(generator), name, secret], cfg.child_env()))
        tools.append(([*keygen, "--instance-secret", secret], cfg.child_env()))
    else:
        if binary not in _refused_warned:  # said once per process, not at every target() call
            _refused_warned.add(binary)
            log.warning("%s", SecretOnCommandLine(binary))
        return None
    for argv, env in tools:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=env)
        except (OSError, subprocess.SubprocessError):
            continue
        lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip()]
        if out.returncode == 0 and lines:
            return _create_once(path, lines[-1])
    log.warning("could not generate an admin key with %s; set OPENAGENTS_CONVEX_ADMIN_KEY", binary.name)
    return None


def target(cfg: Config) -> Target | None:
    """Where Convex is, or None when there is neither a URL nor a binary (the outbox waits)."""
    if cfg.convex_url:
        key = cfg.convex_admin_key or cfg.convex_deploy_key or _read(secrets_dir(cfg) / "admin_key")
        return Target(cfg.convex_url.rstrip("/"), key, "remote")
    binary = find_binary(cfg)
    if binary is None:
        return None
    host = "127.0.0.1" if cfg.convex_interface in ("0.0.0.0", "::") else cfg.convex_interface
    return Target(f"http://{host}:{cfg.convex_port}", admin_key(cfg, binary), "local")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def functions_dir(cfg: Config) -> Path:
    """The Convex functions folder to deploy (shipped in the package; OPENAGENTS_CONVEX_FUNCTIONS
    overrides)."""
    return cfg.convex_functions


def functions_hash(folder: Path) -> str:
    """Content hash of the deployable sources (generated files excluded)."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file() and "_generated" not in p.parts and not p.name.endswith(".test.ts"):
            h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


class LocalBackend:
    """One `convex-local-backend` process that this manager started (and only that one)."""

    def __init__(self, cfg: Config, binary: Path) -> None:
        self.cfg = cfg
        self.binary = binary
        self.proc: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.instance_name: str | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1" if self.cfg.convex_interface in ("0.0.0.0", "::") else self.cfg.convex_interface

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.cfg.convex_port}"

    async def start(self) -> None:
        if port_in_use(self.host, self.cfg.convex_port):
            raise BackendError(
                f"port {self.cfg.convex_port} on {self.host} is already in use by another program; "
                "set OPENAGENTS_CONVEX_PORT to a free port (nothing was stopped)"
            )
        name, secret = instance_credentials(self.cfg)
        self.instance_name = name
        data = secrets_dir(self.cfg)
        (data / "storage").mkdir(parents=True, exist_ok=True)
        # The secret goes in the environment (readable by this user only, /proc/<pid>/environ is
        # 0400), never in argv, unless the binary cannot read it there and the user accepted that.
        env = self.cfg.child_env({SECRET_ENV: secret})
        secret_args: list[str] = []
        if not await asyncio.to_thread(secret_from_env, [str(self.binary)], self.cfg.environ):
            if not self.cfg.convex_secret_in_argv:
                raise SecretOnCommandLine(self.binary)
            env.pop(SECRET_ENV)
            secret_args = ["--instance-secret", secret]
            log.warning(
                "passing the instance secret on the command line (OPENAGENTS_CONVEX_SECRET_IN_ARGV=1)"
            )
        argv = [
            str(self.binary),
            "--instance-name",
            name,
            *secret_args,
            "--interface",
            self.cfg.convex_interface,
            "--port",
            str(self.cfg.convex_port),
            "--local-storage",
            str(data / "storage"),
            "--disable-beacon",
            str(data / "data.sqlite3"),
        ]
        self.cfg.logs_dir.mkdir(parents=True, exist_ok=True)
        with open(self.cfg.logs_dir / "convex-backend.log", "ab") as log_file:
            try:
                # Its own process group (stopped as a whole, never anything else), and it dies with
                # the actor process even when that is SIGKILLed, so no orphan keeps the port.
                self.proc = await asyncio.create_subprocess_exec(
                    *argv,
                    env=env,
                    cwd=str(data),
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=log_file,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            except OSError as exc:
                raise BackendError(f"cannot run {self.binary}: {exc}") from None
        self.started_at = time.monotonic()
        log.info("started %s (pid %d) on %s", self.binary.name, self.proc.pid, self.url)

    async def wait_healthy(self, timeout: float = COLD_START_TIMEOUT) -> None:
        """Poll `GET /instance_name` until it answers, the process dies, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                if self.proc is not None and self.proc.returncode is not None:
                    raise BackendError(
                        f"{self.binary.name} exited with code {self.proc.returncode} while starting"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    r = await http.get(self.url + "/instance_name")
                    # Our instance answers with its own name (a foreign server on the port does not).
                    if r.status_code == 200 and (
                        self.instance_name is None or r.text.strip() == self.instance_name
                    ):
                        return
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"{self.binary.name} did not answer on {self.url} within {timeout:.0f}s"
                    )
                await asyncio.sleep(0.2)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group we created, then SIGKILL after `grace` seconds."""
        proc = self.proc
        if proc is None:
            return
        if proc.returncode is not None:
            self.reap_group()
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        self.reap_group()

    def reap_group(self) -> None:
        """After our process exited: SIGKILL what is left of the process group we created for it
        (helpers it forked). Only that group is touched; an empty group is simply gone."""
        if self.proc is not None and self.proc.returncode is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)


try:  # resolved here, not in the forked child (no dlopen/import between fork and exec)
    _prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):  # pragma: no cover
    _prctl = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the process that started it dies (Linux)."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


async def deploy(
    cfg: Config, url: str, key: str | None, folder: Path | None = None, timeout: float = 300.0
) -> None:
    """`npx convex deploy` to a self-hosted URL (the key is passed in the environment only)."""
    folder = folder or functions_dir(cfg)
    npx = cfg.which("npx")
    if npx is None:
        raise BackendError("npx not found: cannot deploy the Convex functions")
    try:
        project = await asyncio.to_thread(deploy_project, cfg, folder)
    except (NoConvexProject, OSError) as exc:
        raise BackendError(str(exc)) from None
    env = cfg.child_env(drop=("CONVEX_DEPLOYMENT",))
    if key and key == cfg.convex_deploy_key:
        # A Convex Cloud deploy key names its deployment itself; the CLI refuses both kinds at once.
        env.pop("CONVEX_SELF_HOSTED_URL", None)
        env.pop("CONVEX_SELF_HOSTED_ADMIN_KEY", None)
        env["CONVEX_DEPLOY_KEY"] = key
    else:
        env.update(CONVEX_SELF_HOSTED_URL=url, CONVEX_SELF_HOSTED_ADMIN_KEY=key or "")
    try:
        proc = await asyncio.create_subprocess_exec(
            npx,
            "convex",
            "deploy",
            "--yes",
            cwd=str(project),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except OSError as exc:
        raise BackendError(f"cannot run npx convex deploy: {exc}") from None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise BackendError(f"npx convex deploy timed out after {timeout:.0f}s") from None
    if proc.returncode != 0:
        text = out.decode(errors="replace")
        if key:
            text = text.replace(key, "<admin key>")
        raise BackendError(f"npx convex deploy failed (exit {proc.returncode}): {text[-2000:].strip()}")
