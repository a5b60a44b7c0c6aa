"""`oa-supervisor pair`: print the bridge URL with its token, and a QR code for the phone to scan;
and the web app's pair link (`http://host:port/?token=...`: opened once, it signs a browser in).

The token is the one the bridge uses (`OPENAGENTS_BRIDGE_TOKEN`, else `$OPENAGENTS_HOME/bridge.json`,
created once with mode 0600). The host is `--host`, else the bind host of `OPENAGENTS_BRIDGE_BIND`
unless it is a wildcard, else this machine's LAN address. The URL is printed, never logged.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from typing import Any, TextIO
from urllib.parse import quote

from oa_actors.config import Config
from oa_actors.gateway.settings import load_or_create_token, token_path

WILDCARDS = {"", "0.0.0.0", "::", "[::]", "*"}


def register(sub: Any) -> None:
    p = sub.add_parser("pair", help="print the bridge URL with its token and a QR code for the mobile app")
    p.add_argument(
        "--host", help="host or IP the phone should connect to (default: this machine's LAN address)"
    )
    p.add_argument("--port", type=int, help="port (default: from OPENAGENTS_BRIDGE_BIND, 8787)")
    p.add_argument("--no-qr", action="store_true", help="print the URL only, no QR code")
    p.add_argument(
        "--json", action="store_true", help="print {url, webUrl, host, port, path, tokenSource} as JSON"
    )
    p.set_defaults(handler=run_pair)


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


def pair_url(host: str, port: int, token: str, path: str = "/ws") -> str:
    """`ws://host:port/ws?token=...` (IPv6 hosts in brackets)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"ws://{host}:{port}{path}?token={quote(token, safe='')}"


def web_url(host: str, port: int, token: str) -> str:
    """The web app's pair link, `http://host:port/?token=...` (docs/web.md, "Login")."""
    return pair_url(host, port, token, "/").replace("ws://", "http://", 1)


def print_qr(data: str, out: TextIO) -> None:
    """An ASCII (Unicode half-block) QR code of `data` for the terminal."""
    import qrcode

    qr = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(data)
    qr.make(fit=True)
    qr.print_ascii(out=out, invert=True)


def run_pair(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    cfg = Config.from_env()
    token = load_or_create_token(cfg)
    host = args.host or (cfg.bridge_host if cfg.bridge_host not in WILDCARDS else lan_address())
    port = args.port or cfg.bridge_port
    url = pair_url(host, port, token)
    if args.json:
        source = "OPENAGENTS_BRIDGE_TOKEN" if cfg.bridge_token else str(token_path(cfg))
        print(
            json.dumps(
                {
                    "url": url,
                    "webUrl": web_url(host, port, token),
                    "host": host,
                    "port": port,
                    "path": "/ws",
                    "tokenSource": source,
                }
            ),
            file=out,
        )
        return 0
    print("Open in a browser once to sign it in (keep it private: it holds the bridge token):", file=out)
    print(web_url(host, port, token), file=out)
    print(file=out)
    print(
        "Scan with the OpenAgents app, or enter this URL (keep it private: it holds the bridge token):",
        file=out,
    )
    print(url, file=out)
    if not args.no_qr:
        print(file=out)
        print_qr(url, out)
    return 0
