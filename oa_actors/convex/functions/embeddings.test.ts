import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { EMBEDDING_DIMENSIONS } from "./embeddingFields";
import { MAX_EMBEDDINGS_PER_BATCH } from "./embeddings";
import { expectError, messageRow, newTest, threadRow } from "./test.setup";

/** A unit vector pointing mostly along axis `axis`, a little along `tilt`. */
function unit(axis: number, tilt = (axis + 1) % EMBEDDING_DIMENSIONS, amount = 0.1): number[] {
  const v = new Array<number>(EMBEDDING_DIMENSIONS).fill(0);
  v[axis] = 1;
  v[tilt] += amount;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

function embedding(threadId: string, seq: number, vector: number[], chunk = 0, model = "all-MiniLM-L6-v2/int8") {
  return { key: messageRow(threadId, seq).key, chunk, threadId, model, vector };
}

async function seed(t: ReturnType<typeof newTest>) {
  await t.mutation(api.sync.applyBatch, {
    threads: [threadRow("a"), threadRow("b")],
    messages: [
      messageRow("a", 0, { role: "user", text: "the containers ran out of memory" }),
      messageRow("a", 1, { text: "raised the memory limit of the pods" }),
      messageRow("b", 0, { role: "user", text: "translate the onboarding screens" }),
    ],
  });
  return t.mutation(api.embeddings.applyBatch, {
    embeddings: [
      embedding("a", 0, unit(0)),
      embedding("a", 1, unit(0, 2, 0.5)),
      embedding("a", 1, unit(5), 1),
      embedding("b", 0, unit(1)),
    ],
  });
}

describe("embeddings", () => {
  test("applyBatch stores each chunk once; a replay changes nothing", async () => {
    const t = newTest();
    expect(await seed(t)).toEqual({ inserted: 4, replaced: 0, unchanged: 0 });
    const again = await t.mutation(api.embeddings.applyBatch, {
      embeddings: [embedding("a", 0, unit(0)), embedding("b", 0, unit(1, 3), 0, "other-model")],
    });
    expect(again).toEqual({ inserted: 0, replaced: 1, unchanged: 1 });
    const count = await t.run(async (ctx) => (await ctx.db.query("embeddings").collect()).length);
    expect(count).toBe(4);
  });

  test("search ranks by cosine, joins the message, filters by thread", async () => {
    const t = newTest();
    await seed(t);
    const hits = await t.action(api.embeddings.search, { vector: unit(0, 2, 0.3), limit: 3 });
    expect(hits.map((h: any) => `${h.threadId}/${h.key.slice(0, 6)}/${h.chunk}`)).toEqual([
      `a/${messageRow("a", 1).key.slice(0, 6)}/0`,
      `a/${messageRow("a", 0).key.slice(0, 6)}/0`,
      expect.any(String),
    ]);
    expect(hits[0].score).toBeGreaterThan(hits[1].score);
    expect(hits[0].snippet).toBe("raised the memory limit of the pods");
    expect(hits[1]).toMatchObject({ role: "user", kind: "message", seq: 0 });
    const inB = await t.action(api.embeddings.search, { vector: unit(0), threadId: "b" });
    expect(inB.map((h: any) => h.threadId)).toEqual(["b"]);
    const none = await t.action(api.embeddings.search, { vector: unit(0), threadId: "nope" });
    expect(none).toEqual([]);
  });

  test("a vector of the wrong length or with NaN is refused", async () => {
    const t = newTest();
    await expectError(t.action(api.embeddings.search, { vector: [1, 0, 0] }), "BadVector");
    const bad = unit(0);
    bad[3] = Number.NaN;
    const data = await expectError(
      t.mutation(api.embeddings.applyBatch, { embeddings: [embedding("a", 0, bad)] }),
      "BadVector",
    );
    expect(data.expected).toBe(EMBEDDING_DIMENSIONS);
    const many = Array.from({ length: MAX_EMBEDDINGS_PER_BATCH + 1 }, (_, i) => embedding("a", i, unit(0)));
    await expectError(t.mutation(api.embeddings.applyBatch, { embeddings: many }), "BatchTooLarge");
  });
});
