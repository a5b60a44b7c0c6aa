// The phone's side of a run, with the `ws` package: connect with ?token=, list threads, submit a
// run, wait for its final state, read the thread's messages. Prints one JSON summary line.
// Usage: node node_phone.cjs <ws url> <token> <threadDocId> <text>
"use strict";
const WebSocket = require("ws");

const [url, token, threadDocId, text] = process.argv.slice(2);
const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`, { maxPayload: 8 << 20 });
const frames = [];
let nextId = 1;
const waiters = [];
ws.on("message", (data) => {
  const f = JSON.parse(data.toString());
  const i = waiters.findIndex((w) => w.match(f));
  if (i >= 0) waiters.splice(i, 1)[0].resolve(f);
  else frames.push(f);
});
const next = (match) => {
  const i = frames.findIndex(match);
  if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0]);
  return new Promise((resolve) => waiters.push({ match, resolve }));
};
const call = (control, args = {}) => {
  const id = nextId++;
  ws.send(JSON.stringify({ control, id, ...args }));
  return next((f) => (f.type === "reply" || f.type === "error") && f.id === id);
};

ws.on("open", async () => {
  const threads = await call("threads.list", { subscribe: true });
  const submitted = await call("run.submit", { threadDocId, text });
  const runId = submitted.result.runId;
  const done = await next((f) => f.event === "run.state" && f.data.runId === runId && ["done", "failed", "interrupted"].includes(f.data.status));
  const lines = frames.filter((f) => f.event === "run.stdout" && f.data.runId === runId).length;
  const thread = await next((f) => f.event === "rows.threads" && f.data.rows.some((t) => t.threadId === done.data.sessionId));
  // The rollout's rows come through the tailer: poll until the reply is committed too.
  let page;
  for (let i = 0; i < 200; i++) {
    page = await call("messages.forThread", { threadId: done.data.sessionId });
    if (page.result.messages.some((m) => m.role === "assistant")) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  process.stdout.write(JSON.stringify({
    threadsOk: threads.ok, status: done.data.status, sessionId: done.data.sessionId, stdoutLines: lines,
    threadSeen: Boolean(thread), messages: page.result.messages.map((m) => [m.role, m.kind, m.text]),
  }) + "\n");
  ws.close();
});
ws.on("error", (err) => { process.stdout.write(JSON.stringify({ error: err.message }) + "\n"); process.exit(1); });
