import { describe, expect, test } from "vitest";
import { api } from "./_generated/api";
import { newTest } from "./test.setup";
import { costOf, priceOf } from "./usage";

// The corpus's thread and usage rows and the Python summaries of them
// (scripts/gen_usage_fixture.py): the query must agree with the Python twin.
// (A glob, not an import: this folder is a link, and the data lives in the checkout's tests/.)
const data = import.meta.glob("../../../tests/data/usage/*.json", {
  eager: true,
  import: "default",
});
const fixture = data["../../../tests/data/usage/fixture.json"] as {
  threads: any[];
  messages: any[];
};
const expected = data["../../../tests/data/usage/expected.json"] as any[];

type T = ReturnType<typeof newTest>;

async function seed(t: T) {
  await t.mutation(api.sync.applyBatch, { threads: fixture.threads as any[] });
  for (let i = 0; i < fixture.messages.length; i += 50) {
    await t.mutation(api.sync.applyBatch, {
      messages: fixture.messages.slice(i, i + 50) as any[],
    });
  }
}

describe("usage:summary", () => {
  test("gives the Python summary of the corpus, in total and by model, source, project and thread", async () => {
    const t = newTest();
    await seed(t);
    for (const want of expected as any[]) {
      const got: any = await t.query(api.usage.summary, { by: want.by });
      expect(got.truncated).toBe(false);
      delete got.truncated;
      expect(got.total).toEqual({ ...want.total, costUsd: got.total.costUsd });
      expect(got.total.costUsd).toBeCloseTo(want.total.costUsd, 6);
      expect(got.groups.map((g: any) => g.key)).toEqual(
        want.groups.map((g: any) => g.key),
      );
      for (const [i, g] of got.groups.entries()) {
        expect({ ...g, costUsd: null }).toEqual({
          ...want.groups[i],
          costUsd: null,
        });
        if (want.groups[i].costUsd === null) expect(g.costUsd).toBeNull();
        else expect(g.costUsd).toBeCloseTo(want.groups[i].costUsd, 6);
      }
    }
  });

  test("by thread adds up to the total; since and day groups", async () => {
    const t = newTest();
    await seed(t);
    const all: any = await t.query(api.usage.summary, { by: "thread" });
    const sum = all.groups.reduce((n: number, g: any) => n + g.totalTokens, 0);
    expect(sum).toBe(all.total.totalTokens);
    const days: any = await t.query(api.usage.summary, {
      by: "day",
      tzOffsetMinutes: 0,
    });
    expect(days.groups.map((g: any) => g.key)).toEqual(["2026-11-22"]);
    const none: any = await t.query(api.usage.summary, {
      since: 4_102_444_800_000,
    });
    expect(none.total.responses).toBe(0);
    expect(none.total.costUsd).toBe(0);
  });

  test("prices are dated, model tags and dates are ignored, unknown models are unpriced", () => {
    const june = Date.UTC(2025, 5, 11);
    expect(priceOf("o3", june)?.input).toBe(2);
    expect(priceOf("o3", june - 30 * 86_400_000)?.input).toBe(10);
    expect(priceOf("claude-sonnet-4-20250514", june)).toEqual(
      priceOf("claude-sonnet-4", june),
    );
    expect(priceOf("claude-opus-4-5[1m]", undefined)).toEqual(
      priceOf("claude-opus-4-5", undefined),
    );
    expect(priceOf("mock-model", undefined)).toBeNull();
    const c = {
      inputTokens: 1_000_000,
      cachedInputTokens: 400_000,
      cacheWriteInputTokens: 100_000,
      outputTokens: 10_000,
      reasoningOutputTokens: 0,
      totalTokens: 1_010_000,
    };
    // 500k plain x $5 + 400k cached x $0.5 + 100k written x $6.25 + 10k out x $25, per million
    expect(costOf(priceOf("claude-opus-4-5", undefined)!, c)).toBeCloseTo(
      2.5 + 0.2 + 0.625 + 0.25,
      9,
    );
  });
});
