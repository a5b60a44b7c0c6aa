import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { expectError, messageRow, newTest, threadRow } from "./test.setup";

async function seed(t: ReturnType<typeof newTest>, n: number) {
  const messages = [];
  // Inserted out of order: reads must still come back in seq order.
  for (let i = n - 1; i >= 0; i--) messages.push(messageRow("s1", i));
  await t.mutation(api.sync.applyBatch, { threads: [threadRow("s1")], messages });
}

describe("messages", () => {
  test("forThread is ordered by seq and pages with afterSeq/limit", async () => {
    const t = newTest();
    await seed(t, 25);
    const first = await t.query(api.messages.forThread, { threadId: "s1", limit: 10 });
    expect(first.map((m: any) => m.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const next = await t.query(api.messages.forThread, { threadId: "s1", afterSeq: 9, limit: 10 });
    expect(next[0].seq).toBe(10);
    const all = await t.query(api.messages.forThread, { threadId: "s1" });
    expect(all).toHaveLength(25);
    expect(await t.query(api.messages.forThread, { threadId: "nope" })).toEqual([]);
  });

  test("a row written late (fractional seq) sorts into place and pages with afterSeq", async () => {
    // docs/rows.md: a Claude Code prompt written after its reply gets a seq between two rows.
    const t = newTest();
    await seed(t, 4);
    const late = [messageRow("s1", 1.5, { role: "user" }), messageRow("s1", 1.75)];
    await t.mutation(api.sync.applyBatch, { threads: [], messages: late });
    const all = await t.query(api.messages.forThread, { threadId: "s1" });
    expect(all.map((m: any) => m.seq)).toEqual([0, 1, 1.5, 1.75, 2, 3]);
    const after = await t.query(api.messages.forThread, { threadId: "s1", afterSeq: 1.5, limit: 2 });
    expect(after.map((m: any) => m.seq)).toEqual([1.75, 2]);
    const thread = await t.query(api.threads.byThreadId, { threadId: "s1" });
    expect(thread).toMatchObject({ lastSeq: 3, messageCount: 6 });
  });

  test("forThread pages with paginationOpts", async () => {
    const t = newTest();
    await seed(t, 12);
    const seen: number[] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: any = await t.query(api.messages.forThread, {
        threadId: "s1",
        paginationOpts: { numItems: 5, cursor },
      });
      seen.push(...page.page.map((m: any) => m.seq));
      expect(Object.keys(page).sort()).toEqual(
        expect.arrayContaining(["continueCursor", "isDone", "page"]),
      );
      if (page.isDone) break;
      cursor = page.continueCursor;
    }
    expect(seen).toEqual([...Array(12).keys()]);
  });

  test("create writes a pending app message and counts it", async () => {
    const t = newTest();
    await seed(t, 3);
    const id = await t.mutation(api.messages.create, { threadId: "s1", role: "user", text: "hi" });
    const doc = await t.query(api.messages.byId, { id });
    expect(doc).toMatchObject({ origin: "app", pending: true, role: "user", seq: 2.5 });
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(4);
    expect(await t.query(api.messages.countForThread, { threadId: "none" })).toBe(0);
    const unknown = await expectError(
      t.mutation(api.messages.create, { threadId: "none", role: "user", text: "x" }),
      "UnknownThread",
    );
    expect(unknown).toMatchObject({ threadId: "none", message: "Unknown thread none" });
  });

  test("an oversized app message is rejected with a clear error", async () => {
    const t = newTest();
    await seed(t, 1);
    const data = await expectError(
      t.mutation(api.messages.create, { threadId: "s1", role: "user", text: "x".repeat(1_100_000) }),
      "DocumentTooLarge",
    );
    expect(data.table).toBe("messages");
    expect(await t.query(api.messages.countForThread, { threadId: "s1" })).toBe(1);
  });
});
