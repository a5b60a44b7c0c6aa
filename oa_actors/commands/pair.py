"""`oa-supervisor pair --device NAME`: pair one device and print its links and a QR code: the app's
`ws://host:port/ws?token=...` and the web app's `http://host:port/?code=...`: a one-time login code
of the device (logincodes.py: single use, 10 minutes), not its token, because a browser keeps the
links it opens in its history database. Opened once, it signs a browser in as that device.
`oa-supervisor devices link NAME` prints a fresh browser link for a device paired before.

Each device gets its own token (devices.py): shown here once, stored only as a keyed hash in
`$OPENAGENTS_HOME/devices.json`, revocable alone (`oa-supervisor devices revoke NAME`). The host is
`--host`, else the bind host of `OPENAGENTS_BRIDGE_BIND` unless it is a wildcard, else this
machine's LAN address. With TLS on, the links are `wss://`/`https://` and carry the certificate's
SHA-256 (`certSha256`) for the app to pin. The link is printed, never logged. Warnings (stderr): the
bridge listens on loopback only, no supervisor runs, or the link is unencrypted on the network.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any, TextIO
from urllib.parse import quote

from oa_actors.config import Config
from oa_actors.gateway.devices import DeviceError, DeviceRegistry, check_name, parse_duration
from oa_actors.gateway.settings import is_loopback

WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}
JSON_KEYS = (
    "device", "url", "webUrl", "webUrlExpiresAt", "token", "host", "port", "path", "tls", "certSha256",
    "admin", "expiresAt", "warnings",
)  # fmt: skip


def register(sub: Any) -> None:
    p = sub.add_parser(
        "pair",
        help="pair a device (phone, browser): print its private link and a QR code",
        description="Pair one device: mint its own token (stored hashed; revoke it alone with "
        "`oa-supervisor devices revoke NAME`) and print the link for the app and the browser.",
    )
    p.add_argument("--device", metavar="NAME", help="the device's name (default: device-N, the next free)")
    p.add_argument("--admin", action="store_true", help="may list and revoke other devices over the WS")
    p.add_argument("--expires", metavar="DURATION", type=_duration, help="token lifetime, e.g. 30d, 12h")
    p.add_argument(
        "--replace", action="store_true", help="re-pair an already paired NAME (its old token dies)"
    )
    p.add_argument(
        "--host", help="host or IP the phone should connect to (default: this machine's LAN address)"
    )
    p.add_argument("--port", type=int, help="port (default: from OPENAGENTS_BRIDGE_BIND, 8787)")
    p.add_argument("--no-qr", action="store_true", help="print the links only, no QR code")
    p.add_argument("--json", action="store_true", help=f"print {{{', '.join(JSON_KEYS)}}} as JSON")
    p.set_defaults(handler=run_pair)


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def lan_address() -> str:
    """This machine's address on the default route (no packet is sent), else its host name."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: only selects the outgoing interface
            addr = str(s.getsockname()[0])
            if addr and not addr.startswith("0."):
                return addr
    except OSError:
        pass
    return socket.gethostname() or "127.0.0.1"


def pair_url(
    host: str, port: int, token: str, path: str = "/ws", tls: bool = False, cert_sha256: str | None = None
) -> str:
    """`ws[s]://host:port/ws?token=...[&certSha256=...]` (IPv6 hosts in brackets)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme = "wss" if tls else "ws"
    pin = f"&certSha256={cert_sha256}" if cert_sha256 else ""
    return f"{scheme}://{host}:{port}{path}?token={quote(token, safe='')}{pin}"


def web_url(host: str, port: int, code: str, tls: bool = False, cert_sha256: str | None = None) -> str:
    """The web app's pair link, `http[s]://host:port/?code=...` with a one-time login code
    (docs/web.md, "Login")."""
    link = pair_url(host, port, code, "/", tls=tls, cert_sha256=cert_sha256)
    return ("https://" if tls else "http://") + link.split("://", 1)[1].replace("/?token=", "/?code=", 1)


def link_host(cfg: Config, host: str | None) -> str:
    """The host the links name: `host`, else the bind host unless a wildcard, else the LAN address."""
    return host or (cfg.bridge_host if cfg.bridge_host not in WILDCARDS else lan_address())


def print_qr(data: str, out: TextIO) -> None:
    """An ASCII (Unicode half-block) QR code of `data` for the terminal."""
    import qrcode

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    qr.print_ascii(out=out, invert=True)


def link_warnings(cfg: Config, supervisor_running: bool | None = None) -> list[str]:
    """What is wrong with the link as configured (also for the banner: pass `supervisor_running`)."""
    warnings = []
    if is_loopback(cfg.bridge_host):
        warnings.append(
            f"the bridge listens on {cfg.bridge_host} only: no other device can reach it "
            "(set OPENAGENTS_BRIDGE_BIND=0.0.0.0:8787 and restart)"
        )
    elif not cfg.bridge_tls:
        warnings.append(
            "the link is unencrypted (ws://, http://): anyone on the network can read it "
            "(set OPENAGENTS_BRIDGE_TLS=1 and restart)"
        )
    if supervisor_running is False:
        warnings.append("no supervisor is running: start it with `oa-supervisor run`")
    return warnings


def _supervisor_running(cfg: Config) -> bool:
    from oa_actors.runtime import control

    try:
        control.request_status(cfg.run_dir, timeout=3.0)
    except (ConnectionError, OSError):
        return False
    return True


def _clock(epoch: float) -> str:
    import time

    return time.strftime("%H:%M", time.localtime(epoch))


def _next_name(names: set[str]) -> str:
    n = 1
    while f"device-{n}" in names:
        n += 1
    return f"device-{n}"


def run_pair(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    cfg = Config.from_env()
    from oa_actors.gateway.tls import fingerprint, tls_files

    try:
        name = check_name(args.device) if args.device else None
        registry = DeviceRegistry.open(cfg.home, cfg.bridge_token)
        name = name or _next_name(registry.names())
        tls = tls_files(cfg)  # made now when TLS is on and none exists yet: the pin is known
        token = registry.pair(name, admin=args.admin, expires=args.expires, replace=args.replace)
        code, code_expires = registry.login_code(name)
    except DeviceError as exc:
        print(f"oa-supervisor pair: {exc}", file=err)
        return 2
    cert_sha256 = fingerprint(tls[0]) if tls else None
    host = link_host(cfg, args.host)
    port = args.port or cfg.bridge_port
    url = pair_url(host, port, token, tls=tls is not None, cert_sha256=cert_sha256)
    browser = web_url(host, port, code, tls=tls is not None, cert_sha256=cert_sha256)
    warnings = link_warnings(cfg, _supervisor_running(cfg))
    for w in warnings:
        print(f"warning: {w}", file=err)
    expires = next(d["expiresAt"] for d in registry.list() if d["name"] == name)
    if args.json:
        doc = {
            "device": name,
            "url": url,
            "webUrl": browser,
            "webUrlExpiresAt": int(code_expires * 1000),
            "token": token,
            "host": host,
            "port": port,
            "path": "/ws",
            "tls": tls is not None,
            "certSha256": cert_sha256,
            "admin": args.admin,
            "expiresAt": expires,
            "warnings": warnings,
        }
        assert tuple(doc) == JSON_KEYS
        print(json.dumps(doc), file=out)
        return 0
    print(f"Paired the device {name!r}. Its links (keep them private: the app's holds the device's", file=out)
    print("token, shown only this once; the browser's holds a one-time login code):", file=out)
    print(f"  app:     {url}", file=out)
    print(f"  browser: {browser}", file=out)
    again = f"a new one: oa-supervisor devices link {name}"
    print(f"           (works once, until {_clock(code_expires)}; {again})", file=out)
    if cert_sha256:
        print(f"  certificate SHA-256 (pin it): {cert_sha256}", file=out)
    if not args.no_qr:
        print("Scan this QR code with the OpenAgents app:", file=out)
        print(file=out)
        print_qr(url, out)
    return 0
