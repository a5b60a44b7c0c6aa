import { ConvexError } from "convex/values";
import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { messageRow, newTest, threadRow } from "./test.setup";

type T = ReturnType<typeof newTest>;

async function seed(t: T) {
  await t.mutation(api.sync.applyBatch, {
    threads: [threadRow("c1"), threadRow("k1", { source: "claude" })],
    messages: [
      messageRow("c1", 0, { role: "user", text: "the deadlock in the scheduler again" }),
      messageRow("c1", 1, { text: "fixed the deadlock with a mutex" }),
      messageRow("c1", 2, { role: "tool", kind: "cmd", text: "pytest -k deadlock" }),
      messageRow("c1", 3, { text: "unrelated words" }),
      messageRow("k1", 0, { role: "user", text: "why does the deadlock happen" }),
      messageRow("k1", 1, { text: "a deadlock needs two locks" }),
    ],
  });
}

async function all(t: T, args: Record<string, unknown>, numItems = 2) {
  const keys: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 20; pages++) {
    const page: any = await t.query(api.messages.search, {
      ...args,
      paginationOpts: { numItems, cursor },
    });
    expect(page.page.length).toBeLessThanOrEqual(numItems);
    keys.push(...page.page.map((m: any) => `${m.threadId}/${m.seq}`));
    if (page.isDone) return keys;
    cursor = page.continueCursor;
  }
  throw new Error("paging did not end");
}

describe("messages:search", () => {
  test("finds the messages holding the words, page by page, each once", async () => {
    const t = newTest();
    await seed(t);
    const keys = await all(t, { query: "deadlock" });
    expect([...keys].sort()).toEqual(["c1/0", "c1/1", "c1/2", "k1/0", "k1/1"]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(await all(t, { query: "mutex" }, 10)).toEqual(["c1/1"]);
  });

  test("filters by thread, agent, role and kind", async () => {
    const t = newTest();
    await seed(t);
    expect((await all(t, { query: "deadlock", source: "claude" })).sort()).toEqual(["k1/0", "k1/1"]);
    expect((await all(t, { query: "deadlock", threadId: "c1" })).sort()).toEqual(["c1/0", "c1/1", "c1/2"]);
    expect((await all(t, { query: "deadlock", role: "user" })).sort()).toEqual(["c1/0", "k1/0"]);
    expect(await all(t, { query: "deadlock", kind: "cmd" })).toEqual(["c1/2"]);
    expect(await all(t, { query: "deadlock", source: "app" })).toEqual([]);
  });

  test("a message stored before its thread row gets the thread's source when the row arrives", async () => {
    const t = newTest();
    // The message alone: its thread is created with the default source.
    await t.mutation(api.sync.applyBatch, { messages: [messageRow("late", 0, { text: "orphan deadlock" })] });
    expect(await all(t, { query: "orphan", source: "codex" })).toEqual(["late/0"]);
    await t.mutation(api.sync.applyBatch, { threads: [threadRow("late", { source: "claude" })] });
    expect(await all(t, { query: "orphan", source: "claude" })).toEqual(["late/0"]);
    expect(await all(t, { query: "orphan", source: "codex" })).toEqual([]);
  });

  test("app-written messages carry their thread's source and are found", async () => {
    const t = newTest();
    await seed(t);
    await t.mutation(api.messages.create, { threadId: "k1", role: "user", text: "retry the deadlock fix" });
    const page: any = await t.query(api.messages.search, {
      query: "retry",
      source: "claude",
      paginationOpts: { numItems: 10, cursor: null },
    });
    expect(page.page).toHaveLength(1);
    expect(page.page[0]).toMatchObject({ threadId: "k1", source: "claude", origin: "app", pending: true });
  });

  test("bad queries are ConvexErrors with a code", async () => {
    const t = newTest();
    await seed(t);
    const run = (query: string) =>
      t.query(api.messages.search, { query, paginationOpts: { numItems: 5, cursor: null } });
    for (const [query, code] of [
      ["", "EmptyQuery"],
      ["   ", "EmptyQuery"],
      [Array.from({ length: 17 }, (_, i) => `w${i}`).join(" "), "QueryTooLong"],
      ["x".repeat(1001), "QueryTooLong"],
    ] as const) {
      const err = await run(query).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConvexError);
      expect((err as ConvexError<{ code: string }>).data.code).toBe(code);
    }
  });
});
