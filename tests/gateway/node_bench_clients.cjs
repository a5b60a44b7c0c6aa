// N phone-like clients (npm `ws`) for the gateway benchmark (benches/test_bench_gateway.py).
// Usage: node node_bench_clients.cjs <port> <token> <clients> <threadId>
// Every client subscribes to messages.forThread(threadId); prints {"ready":true} when all did.
// Commands on stdin, one JSON per line:
//   {"cmd":"expect","count":N}  -> prints {"done":true} once every client received N rows
//   {"cmd":"latency"}           -> prints {"latency":{p50,p90,p99,max,count}} (ms, publish -> receive)
//   {"cmd":"quit"}              -> closes every client and exits
"use strict";
const WebSocket = require("ws");
const readline = require("readline");
const { performance } = require("perf_hooks");

const [port, token, nArg, threadId] = process.argv.slice(2);
const n = Number(nArg);
const url = `ws://127.0.0.1:${port}/ws?token=${encodeURIComponent(token)}`;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const nowMs = () => performance.timeOrigin + performance.now();

const clients = [];
let counts = new Array(n).fill(0);
let target = Infinity;
let done = 0;
let lat = [];

function onRow(i, row) {
  if (row.data && row.data.lat) lat.push(nowMs() - row.data.t);
  counts[i] += 1;
  if (counts[i] === target) {
    done += 1;
    if (done === n) out({ done: true });
  }
}

function connect(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
    ws.on("error", reject);
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.type === "event" && f.event === "rows.messages") {
        for (const row of f.data.rows) onRow(i, row);
      } else if (f.type === "event" && f.event === "bridge.hello") {
        ws.send(JSON.stringify({ control: "messages.forThread", id: i, threadId, limit: 1, subscribe: true }));
      } else if (f.type === "reply" && f.id === i) {
        resolve(ws);
      } else if (f.type === "error") {
        reject(new Error(JSON.stringify(f)));
      }
    });
    ws.on("close", (code) => { if (target !== -1) out({ closed: i, code }); });
  });
}

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main() {
  for (let i = 0; i < n; i += 50) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 50); j++) batch.push(connect(j));
    clients.push(...(await Promise.all(batch)));
  }
  out({ ready: true });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd === "expect") {
      counts = new Array(n).fill(0);
      done = 0;
      target = cmd.count;
    } else if (cmd.cmd === "latency") {
      const s = lat.slice().sort((a, b) => a - b);
      out({ latency: { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s[s.length - 1] ?? null, count: s.length } });
      lat = [];
    } else if (cmd.cmd === "quit") {
      target = -1;
      for (const ws of clients) ws.close(1000);
      setTimeout(() => process.exit(0), 200);
    }
  });
}

main().catch((err) => { out({ error: String((err && err.stack) || err) }); process.exit(1); });
