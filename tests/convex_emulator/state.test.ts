/** Dump/restore keeps documents and their ids, across gaps left by deletes. */
import { expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import schema from "../../convex/schema";
import { messageRow, newTest, threadRow } from "../../convex/test.setup";
import { dumpState, restoreState } from "./state";

const strip = (tables: Record<string, any[]>) =>
  Object.fromEntries(
    Object.entries(tables).map(([k, docs]) => [k, docs.map(({ _creationTime, ...d }) => d)]),
  );

test("restore reproduces documents and ids, then allocates after them", async () => {
  const names = Object.keys(schema.tables);
  const a = newTest();
  for (let i = 0; i < 30; i++) {
    await a.mutation(api.sync.applyBatch, { threads: [threadRow(`t${i}`)], messages: [messageRow(`t${i}`, 0)] });
  }
  // Deleting leaves holes in convex-test's shared id counter.
  await a.run(async (ctx) => {
    for (const m of await ctx.db.query("messages").take(25)) await ctx.db.delete(m._id);
  });
  const projectId = await a.mutation(api.projects.upsertFromFs, {
    id: "p", name: "P", workingDir: "/w", createdAt: 1, updatedAt: 1,
  });
  expect(projectId).toBe("inserted");
  const dumped = await dumpState(a, names);

  const b = newTest();
  expect(await restoreState(b, dumped)).toBe(30 + 5 + 1);
  expect(strip(await dumpState(b, names))).toEqual(strip(dumped));
  const fresh = await b.mutation(api.threads.create, {});
  const lastA = await a.mutation(api.threads.create, {});
  expect(fresh).toBe(lastA);
});
