"""TLS for the bridge: `wss://` and `https://` on the same port (docs/protocol.md, "TLS").

With `bridge_tls` on (`OPENAGENTS_BRIDGE_TLS=1`), the bridge serves the user's certificate and key
(`bridge_tls_cert` / `bridge_tls_key`) or, without them, a self-signed certificate made on first
start in `$OPENAGENTS_HOME/tls/` (EC P-256, ten years; key mode 0600, never logged). Clients pin
the certificate by its SHA-256 fingerprint, which the pair URL and QR code carry as `certSha256`
(`pinned_context` shows how: fetch the certificate, compare its fingerprint, then trust only it).
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import socket
import ssl
import stat
from pathlib import Path

from oa_actors.config import Config, ConfigError, write_secret

log = logging.getLogger(__name__)

TLS_DIR = "tls"
CERT_FILE = "bridge.crt"
KEY_FILE = "bridge.key"


def tls_files(config: Config) -> tuple[Path, Path] | None:
    """(certificate, key) to serve, or None when TLS is off. The self-signed pair is made once."""
    if not config.bridge_tls:
        return None
    cert, key = config.bridge_tls_cert, config.bridge_tls_key
    if (cert is None) != (key is None):
        raise ConfigError("bridge_tls_cert and bridge_tls_key go together: give both or neither")
    if cert is not None and key is not None:
        for path in (cert, key):
            if not path.is_file():
                raise ConfigError(f"TLS file {path} does not exist")
        mode = stat.S_IMODE(key.stat().st_mode)
        if mode & 0o077:
            log.warning("the TLS key %s is readable by other users (mode %o)", key, mode)
        return cert, key
    folder = config.home / TLS_DIR
    cert, key = folder / CERT_FILE, folder / KEY_FILE
    if not (cert.is_file() and key.is_file()):
        make_self_signed(cert, key)
        log.info("made a self-signed TLS certificate %s (SHA-256 %s)", cert, fingerprint(cert))
    return cert, key


def make_self_signed(cert_path: Path, key_path: Path, hosts: list[str] | None = None) -> None:
    """A self-signed EC P-256 certificate for this machine's names and addresses."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names = hosts or _local_names()
    alt: list[x509.GeneralName] = []
    for name in names:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alt.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oa-supervisor bridge")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_secret(key_path, key_pem)  # 0600 from the start
    write_secret(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    os.chmod(cert_path, 0o644)  # a certificate is public


def _local_names() -> list[str]:
    names = ["localhost", "127.0.0.1", "::1"]
    host = socket.gethostname()
    if host and host not in names:
        names.append(host)
    from oa_actors.commands.pair import lan_address

    lan = lan_address()
    if lan not in names:
        names.append(lan)
    return names


def fingerprint(cert_path: Path) -> str:
    """The SHA-256 of the certificate's DER form, 64 lowercase hex digits."""
    der = ssl.PEM_cert_to_DER_cert(cert_path.read_text(encoding="ascii"))
    return hashlib.sha256(der).hexdigest()


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server's TLS context (TLS 1.2 or newer)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx


class PinMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one."""


def pinned_context(host: str, port: int, pin: str, timeout: float = 10.0) -> ssl.SSLContext:
    """A client context that trusts only the certificate whose SHA-256 is `pin` (hex, `:` allowed).

    Fetches the server's certificate, checks its fingerprint, then returns a context with that one
    certificate as the only trust anchor (no host name check: the pin is the identity), so the
    connection that sends the token verifies the server holds the pinned certificate's key.
    """
    want = pin.replace(":", "").lower()
    pem = ssl.get_server_certificate((host, port), timeout=timeout)
    got = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    if got != want:
        raise PinMismatch(f"certificate fingerprint {got} is not the pinned {want}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cadata=pem)
    return ctx
