import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { messageRow, newTest, threadRow } from "./test.setup";

describe("threads", () => {
  test("create makes an app thread whose threadId is its own _id", async () => {
    const t = newTest();
    const id = await t.mutation(api.threads.create, { title: "Hello", projectId: null });
    const doc = await t.query(api.threads.byId, { id });
    expect(doc).toMatchObject({ threadId: id, source: "app", createdBy: "app", title: "Hello" });
    expect(doc.messageCount).toBe(0);
    expect(await t.query(api.threads.byThreadId, { threadId: id })).toMatchObject({ _id: id });
    expect(await t.query(api.threads.byThreadId, { threadId: "nope" })).toBeNull();
    await t.run(async (ctx) => ctx.db.delete(id));
    expect(await t.query(api.threads.byId, { id })).toBeNull();
  });

  test("upsertFromStream inserts, merges, and a replay changes nothing", async () => {
    const t = newTest();
    const first = await t.mutation(api.threads.upsertFromStream, threadRow("s1"));
    expect(first).toMatchObject({ inserted: true, changed: true });
    const again = await t.mutation(api.threads.upsertFromStream, threadRow("s1"));
    expect(again).toMatchObject({ inserted: false, changed: false });
    // null never erases a known value; updatedAt only moves forward.
    await t.mutation(api.threads.upsertFromStream, threadRow("s1", { model: null, updatedAt: 5 }));
    const doc = await t.query(api.threads.byThreadId, { threadId: "s1" });
    expect(doc.model).toBe("gpt-5");
    expect(doc.updatedAt).toBe(1_700_000_000_500);
    await t.mutation(api.threads.upsertFromStream, threadRow("s1", { title: "Fix it" }));
    expect((await t.query(api.threads.byThreadId, { threadId: "s1" })).title).toBe("Fix it");
  });

  test("list and listWithCounts include imported threads, newest first, with counts", async () => {
    const t = newTest();
    const appId = await t.mutation(api.threads.create, {});
    await t.mutation(api.sync.applyBatch, {
      threads: [threadRow("old", { updatedAt: 1000, createdAt: 1000 })],
      messages: [messageRow("old", 0, { ts: 1000 }), messageRow("old", 1, { ts: 1001 })],
    });
    const list = await t.query(api.threads.list, {});
    expect(list.map((x: any) => x.threadId)).toEqual([appId, "old"]);
    const withCounts = await t.query(api.threads.listWithCounts, { limit: 10 });
    expect(withCounts.map((x: any) => [x.threadId, x.count])).toEqual([
      [appId, 0],
      ["old", 2],
    ]);
    expect(await t.query(api.threads.list, { limit: 1 })).toHaveLength(1);
  });

  test("args are validated", async () => {
    const t = newTest();
    await expect(
      t.mutation(api.threads.upsertFromStream, { ...threadRow("x"), source: "vim" }),
    ).rejects.toThrow(/Validator|validator|source/);
    await expect(t.query(api.threads.list, { limit: "ten" })).rejects.toThrow();
  });
});
