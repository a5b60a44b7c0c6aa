// A phone-like client that pins the bridge's certificate by its SHA-256, with the `ws` package.
// Usage: node node_pinned_client.cjs <wss pair URL with token and certSha256>
// Step 1 reads the server's certificate and compares its fingerprint (nothing is sent); step 2
// connects trusting only that certificate (so the TLS handshake that carries the token proves the
// server holds its key). Prints one JSON line: {"ok", "event"} or {"ok": false, "error"}.
"use strict";
const tls = require("tls");
const crypto = require("crypto");
const WebSocket = require("ws");

const url = new URL(process.argv[2]);
const pin = url.searchParams.get("certSha256");
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function fetchCert(host, port) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host, port, rejectUnauthorized: false, servername: "" }, () => {
      const cert = sock.getPeerCertificate(true);
      sock.end();
      resolve(cert.raw);
    });
    sock.on("error", reject);
  });
}

(async () => {
  const host = url.hostname, port = Number(url.port);
  const der = await fetchCert(host, port);
  const got = crypto.createHash("sha256").update(der).digest("hex");
  if (got !== pin) { out({ ok: false, error: `fingerprint ${got} is not the pinned ${pin}` }); return; }
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
  const ws = new WebSocket(url.toString(), {
    ca: [pem],
    // The pin is the identity: accept exactly that certificate whatever the host name.
    checkServerIdentity: (_host, cert) =>
      crypto.createHash("sha256").update(cert.raw).digest("hex") === pin ? undefined : new Error("pin mismatch"),
  });
  ws.on("message", (data) => { out({ ok: true, event: JSON.parse(data.toString()).event }); ws.close(); });
  ws.on("error", (err) => out({ ok: false, error: err.message }));
})().catch((err) => out({ ok: false, error: String(err) }));
