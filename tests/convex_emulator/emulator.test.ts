/**
 * Starts the emulator as a child process (as the Python tests do), calls
 * every route, checks admin-key failures, and restarts it on its state file
 * after SIGTERM and after SIGKILL to prove committed mutations survive.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { ConvexHttpClient } from "convex/browser";
import { makeFunctionReference } from "convex/server";

const ROOT = resolve(__dirname, "../..");
const KEY = "test-admin-key|0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "convex-emu-"));
const statePath = join(dir, "state.json");
const children: ChildProcess[] = [];

async function start(): Promise<{ child: ChildProcess; url: string }> {
  // node with tsx as a loader, not the tsx CLI (which forks): the child IS the server, so a
  // SIGKILL below really kills it and no orphan outlives the test.
  const child = spawn(
    process.execPath,
    ["--import", join(ROOT, "node_modules/tsx/dist/loader.mjs"), join(ROOT, "tests/convex_emulator/server.ts"),
      "--port", "0", "--admin-key", KEY, "--state", statePath],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const port = await new Promise<number>((ok, fail) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = /LISTENING (\d+)/.exec(out);
      if (m) ok(Number(m[1]));
    });
    child.on("exit", (code) => fail(new Error(`emulator exited ${code}: ${err}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  return new Promise((ok) => {
    child.once("exit", (code) => ok(code));
    child.kill(signal);
  });
}

async function call(url: string, route: string, path: string, args: unknown, key: string | null = KEY) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (key !== null) headers.Authorization = `Convex ${key}`;
  const res = await fetch(`${url}/api/${route}`, {
    method: "POST",
    headers,
    body: JSON.stringify({ path, args, format: "json" }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("convex HTTP emulator", () => {
  let first: { child: ChildProcess; url: string };
  let threadDocId: string;

  test("health routes", async () => {
    first = await start();
    expect(await (await fetch(`${first.url}/instance_name`)).text()).toBe("oa-emulator");
    const version = await fetch(`${first.url}/instance_version`);
    expect(version.status).toBe(200);
    expect(await version.text()).toMatch(/\d+\.\d+\.\d+/);
    expect(await (await fetch(`${first.url}/`)).text()).toMatch(/deployment is running/);
    expect((await fetch(`${first.url}/api/nope`, { method: "POST" })).status).toBe(404);
    expect((await fetch(`${first.url}/api/query`)).status).toBe(405);
  });

  test("query, mutation and action routes with the real shapes", async () => {
    const { url } = first;
    const created = await call(url, "mutation", "threads:create", { title: "emu" });
    expect(created).toMatchObject({ status: 200, body: { status: "success" } });
    threadDocId = created.body.value;
    const batch = await call(url, "mutation", "sync:applyBatch", {
      threads: [{ threadId: "s1", source: "codex", title: null, createdAt: 1, updatedAt: 2 }],
      messages: [{ threadId: "s1", key: "k0", seq: 0, ts: null, role: "user", kind: "message", text: "hi", data: null, turnId: null }],
    });
    expect(batch.body).toEqual({
      status: "success",
      value: { threadsInserted: 1, threadsUpdated: 0, threadsUnchanged: 0, messagesInserted: 1, messagesReconciled: 0, messagesUnchanged: 0 },
    });
    const list = await call(url, "query", "threads:listWithCounts", {});
    expect(list.body.value.map((t: any) => [t.threadId, t.count])).toEqual([[threadDocId, 0], ["s1", 1]]);
    // Legacy positional args ([{...}]) are accepted like the real backend.
    expect((await call(url, "query", "messages:countForThread", [{ threadId: "s1" }])).body.value).toBe(1);
    // No actions are defined: the action route answers like a deployment without it.
    expect(await call(url, "action", "threads:list", {})).toEqual({
      status: 200,
      body: { status: "error", errorMessage: "Trying to execute threads.js:list as Action, but it is defined as Query." },
    });
  });

  test("function errors: status error with HTTP 200, like convex-backend", async () => {
    const { url } = first;
    expect((await call(url, "query", "threads:nope", {})).body).toEqual({
      status: "error",
      errorMessage: "Could not find public function for 'threads:nope'.",
    });
    const bad = await call(url, "mutation", "threads:upsertFromStream", { threadId: 1 });
    expect(bad.status).toBe(200);
    expect(bad.body.errorMessage).toMatch(/^ArgumentValidationError/);
    const big = await call(url, "mutation", "messages:create", { threadId: "s1", role: "user", text: "x".repeat(1_100_000) });
    // A ConvexError: its data comes back as errorData, so callers read the code, not the message.
    expect(big.body.errorData).toMatchObject({ code: "DocumentTooLarge", table: "messages" });
    const res = await fetch(`${url}/api/query`, { method: "POST", headers: { Authorization: `Convex ${KEY}` }, body: "{nope" });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: "BadJsonBody" });
  });

  test("admin key: wrong key gets BadAdminKey 401, missing key is refused", async () => {
    const { url } = first;
    expect(await call(url, "query", "threads:list", {}, "wrong")).toEqual({
      status: 401,
      body: { code: "BadAdminKey", message: "The provided admin key was invalid for this instance" },
    });
    expect((await call(url, "mutation", "threads:create", {}, null)).status).toBe(401);
  });

  test("convex's own ConvexHttpClient talks to it", async () => {
    const client = new ConvexHttpClient(first.url, { skipConvexDeploymentUrlCheck: true, logger: false });
    (client as any).setAdminAuth(KEY);
    const n = await client.query(makeFunctionReference<"query">("messages:countForThread"), { threadId: "s1" });
    expect(n).toBe(1);
    await expect(client.query(makeFunctionReference<"query">("threads:nope"), {})).rejects.toThrow(/Could not find/);
  });

  test("SIGTERM exits 0; state and ids survive a restart", async () => {
    // A deleted document leaves a gap in the id sequence that restore must keep.
    const project = { id: "p", name: "P", workingDir: "/w", createdAt: 1, updatedAt: 1 };
    expect((await call(first.url, "mutation", "projects:upsertFromFs", project)).body.value).toBe("inserted");
    expect((await call(first.url, "mutation", "projects:remove", { id: "p" })).body.value).toBe(true);
    expect(await stop(first.child, "SIGTERM")).toBe(0);
    const second = await start();
    const doc = await call(second.url, "query", "threads:byId", { id: threadDocId });
    expect(doc.body.value).toMatchObject({ _id: threadDocId, title: "emu" });
    const r = await call(second.url, "mutation", "runs:enqueue", { threadDocId, text: "go" });
    expect(r.body.status).toBe("success");
    // Killed without warning right after the reply: the commit was persisted.
    await stop(second.child, "SIGKILL");
    const third = await start();
    expect((await call(third.url, "query", "runs:byId", { id: r.body.value.runId })).body.value).toMatchObject({ status: "pending" });
    expect((await call(third.url, "query", "messages:countForThread", { threadId: threadDocId })).body.value).toBe(1);
    // New ids continue after the restored ones.
    const again = await call(third.url, "mutation", "threads:create", {});
    expect(again.body.value).not.toBe(threadDocId);
    expect(await stop(third.child, "SIGTERM")).toBe(0);
  });
});
