// A phone-like client of the bridge, with the `ws` package (as the mobile app uses it).
// Usage: node node_client.cjs <port> <token>
// Prints one JSON object per line: {"step", ...}; waits for the test after {"ready": true}.
"use strict";
const WebSocket = require("ws");

const [port, token] = process.argv.slice(2);
const base = `ws://127.0.0.1:${port}/ws`;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

function rejected(url, headers) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode));
    ws.on("open", () => { ws.close(); resolve("open"); });
    ws.on("error", (err) => resolve(`error: ${err.message}`));
  });
}

function open(url, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const frames = [];
    const waiters = [];
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString());
      const i = waiters.findIndex((w) => w.match(frame));
      if (i >= 0) waiters.splice(i, 1)[0].resolve(frame);
      else frames.push(frame);
    });
    ws.on("error", reject);
    ws.next = (match) => {
      const i = frames.findIndex(match);
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
      return new Promise((res) => waiters.push({ match, resolve: res }));
    };
    ws.request = (frame) => {
      ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
      const id = typeof frame === "string" ? null : frame.id;
      return ws.next((f) => (f.type === "reply" || f.type === "error") && f.id === (id ?? null));
    };
    ws.on("open", () => resolve(ws));
  });
}

async function main() {
  out({ step: "auth.missing", status: await rejected(base) });
  out({ step: "auth.wrong", status: await rejected(base, { Authorization: "Bearer wrong-wrong-wrong-wrong" }) });
  out({ step: "auth.wrongQuery", status: await rejected(`${base}?token=nope`) });

  const hdr = await open(base, { Authorization: `Bearer ${token}` });
  out({ step: "hello.header", frame: await hdr.next((f) => f.event === "bridge.hello") });
  out({ step: "ping.header", frame: await hdr.request({ control: "ping", id: "h1" }) });

  const ws = await open(`${base}?token=${encodeURIComponent(token)}`);
  out({ step: "hello", frame: await ws.next((f) => f.event === "bridge.hello") });
  const requests = [
    ["threads.list", { control: "threads.list", id: 1, limit: 2, subscribe: true }],
    ["messages.forThread", { control: "messages.forThread", id: 2, threadId: "t1", limit: 5, subscribe: true }],
    ["run.submit", { control: "run.submit", id: 3, threadDocId: "doc", text: "hello" }],
    ["interrupt", { control: "interrupt", id: 4, runId: "r1" }],
    ["bridge.status", { control: "bridge.status", id: 5 }],
    ["convex.status", { control: "convex.status", id: 6 }],
    ["convex.backfill", { control: "convex.backfill", id: 7 }],
    ["sessions.watch_status", { control: "sessions.watch_status", id: 8 }],
    ["projects", { control: "projects", id: 9 }],
    ["project.save", { control: "project.save", id: 10, project: { name: "P", workingDir: "/w" } }],
    ["project.delete", { control: "project.delete", id: 11, projectId: "p" }],
    ["skills", { control: "skills", id: 12 }],
    ["unknown", { control: "no.such.verb", id: 13 }],
    ["wrongType", { control: "messages.forThread", id: 14, threadId: 5 }],
    ["badJson", "{oops"],
  ];
  for (const [step, frame] of requests) out({ step, frame: await ws.request(frame) });
  out({ ready: true });
  out({ step: "event.threads", frame: await ws.next((f) => f.event === "rows.threads") });
  out({ step: "event.messages", frame: await ws.next((f) => f.event === "rows.messages") });
  out({ step: "event.run", frame: await ws.next((f) => f.event === "run.stdout") });
  out({ step: "unsubscribe", frame: await ws.request({ control: "unsubscribe", id: 15, query: "threads.list" }) });
  ws.close(1000);
  hdr.close(1000);
  out({ done: true });
}

main().catch((err) => { out({ error: String(err && err.stack || err) }); process.exit(1); });
