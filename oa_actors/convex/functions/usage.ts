/**
 * usage:summary: tokens and estimated cost over the `system/usage` message
 * rows (one per model response: docs/rows.md "Token usage"), the same summary
 * as `oa-supervisor usage --json` and the bridge's `usage.summary`
 * (oa_actors/usage/summary.py holds the rules; this is their twin):
 * - a thread with rows from its session file (rows with `ts`) ignores its
 *   rows from captured output streams (rows without `ts`);
 * - a Claude Code response (`data.messageId`) counts once: the earliest copy.
 * Costs come from the packaged price table (usagePrices.ts, generated from
 * oa_actors/usage/prices.json); the [prices] overrides of a user's
 * config.toml apply to the local summary only. Days are UTC shifted by
 * `tzOffsetMinutes` (the phone's offset; default UTC).
 */
import { v } from "convex/values";
import { query } from "./_generated/server";
import { nullable } from "./validators";
import { PRICES, type PriceEntry } from "./usagePrices";

/** At most this many usage rows are read (Convex read limits); `truncated` says so. */
export const MAX_ROWS = 8000;
const COUNTERS = [
  "inputTokens",
  "cachedInputTokens",
  "cacheWriteInputTokens",
  "outputTokens",
  "reasoningOutputTokens",
  "totalTokens",
] as const;
type Counter = (typeof COUNTERS)[number];
const SUFFIX = /(\[[^\]]*\]|-\d{8}|-\d{4}-\d{2}-\d{2})$/;

const by = v.union(
  v.literal("day"),
  v.literal("model"),
  v.literal("source"),
  v.literal("project"),
  v.literal("thread"),
);
const totalsFields = {
  inputTokens: v.number(),
  cachedInputTokens: v.number(),
  cacheWriteInputTokens: v.number(),
  outputTokens: v.number(),
  reasoningOutputTokens: v.number(),
  totalTokens: v.number(),
  costUsd: v.union(v.number(), v.null()),
  unpricedTokens: v.number(),
  unpricedModels: v.array(v.string()),
  responses: v.number(),
  threads: v.number(),
};
const usageSummary = v.object({
  total: v.object(totalsFields),
  groups: v.array(
    v.object({
      ...totalsFields,
      key: v.string(),
      label: v.union(v.string(), v.null()),
    }),
  ),
  by: v.union(by, v.null()),
  since: v.union(v.number(), v.null()),
  truncated: v.boolean(),
});

type Row = {
  threadId: string;
  ts: number | undefined;
  when: number | undefined;
  model: string | undefined;
  source: string | undefined;
  cwd: string | undefined;
  title: string | undefined;
  counts: Record<Counter, number>;
};

/** The price of a model on the day of `ts` (UTC), or null: unpriced. */
export function priceOf(model: string | undefined, ts: number | undefined) {
  if (!model) return null;
  const name = [model, model.replace(SUFFIX, "")].find((n) => n in PRICES);
  if (name === undefined) return null;
  const entries: PriceEntry[] = PRICES[name];
  const day = ts === undefined ? null : new Date(ts).toISOString().slice(0, 10);
  let entry = entries[0];
  for (const e of entries) if (day === null || e.since <= day) entry = e;
  if (entry.input === undefined || entry.output === undefined) return null;
  return entry;
}

/** USD of one row: input includes cached and cache-write tokens, output includes reasoning. */
export function costOf(p: PriceEntry, c: Record<Counter, number>) {
  const input = p.input ?? 0;
  const plain = Math.max(
    c.inputTokens - c.cachedInputTokens - c.cacheWriteInputTokens,
    0,
  );
  const usd =
    plain * input +
    c.cachedInputTokens * (p.cached_input ?? input) +
    c.cacheWriteInputTokens * (p.cache_write ?? input) +
    c.outputTokens * (p.output ?? 0);
  return usd / 1e6;
}

class Totals {
  counts = Object.fromEntries(COUNTERS.map((k) => [k, 0])) as Record<
    Counter,
    number
  >;
  cost = 0;
  unpricedTokens = 0;
  responses = 0;
  threads = new Set<string>();
  unpricedModels = new Set<string>();

  add(row: Row, cost: number | null) {
    for (const k of COUNTERS) this.counts[k] += row.counts[k];
    this.responses += 1;
    this.threads.add(row.threadId);
    if (cost === null) {
      this.unpricedTokens += row.counts.totalTokens;
      this.unpricedModels.add(row.model ?? "(unknown)");
    } else this.cost += cost;
  }

  json() {
    const priced =
      this.responses > 0 && this.unpricedTokens < this.counts.totalTokens;
    return {
      ...this.counts,
      costUsd:
        priced || this.responses === 0
          ? Math.round(this.cost * 1e6) / 1e6
          : null,
      unpricedTokens: this.unpricedTokens,
      unpricedModels: [...this.unpricedModels].sort(),
      responses: this.responses,
      threads: this.threads.size,
    };
  }
}

function int(x: unknown) {
  return typeof x === "number" && Number.isInteger(x) ? x : 0;
}

export const summary = query({
  args: {
    by: nullable(by),
    since: nullable(v.number()),
    tzOffsetMinutes: nullable(v.number()),
  },
  returns: usageSummary,
  handler: async (ctx, args) => {
    const docs = await ctx.db
      .query("messages")
      .withIndex("by_kind_ts", (q) => q.eq("kind", "usage"))
      .take(MAX_ROWS + 1);
    const truncated = docs.length > MAX_ROWS;
    const threads = new Map<string, any>();
    const raw: { row: Row; mid: unknown; created: number }[] = [];
    for (const m of docs.slice(0, MAX_ROWS)) {
      if (m.role !== "system") continue;
      if (!threads.has(m.threadId)) {
        const t = await ctx.db
          .query("threads")
          .withIndex("by_threadId", (q) => q.eq("threadId", m.threadId))
          .first();
        threads.set(m.threadId, t ?? {});
      }
      const t = threads.get(m.threadId);
      const d = (m.data ?? {}) as Record<string, unknown>;
      const counts = Object.fromEntries(
        COUNTERS.map((k) => [k, int(d[k])]),
      ) as Record<Counter, number>;
      const ts = m.ts ?? undefined;
      raw.push({
        row: {
          threadId: m.threadId,
          ts,
          when: ts ?? t.updatedAt ?? undefined,
          model:
            (typeof d.model === "string" && d.model) || t.model || undefined,
          source: t.source ?? m.source,
          cwd: t.cwd ?? undefined,
          title: t.title ?? undefined,
          counts,
        },
        mid: d.messageId,
        created: t.createdAt ?? 0,
      });
    }
    const withFile = new Set(
      raw.filter((r) => r.row.ts !== undefined).map((r) => r.row.threadId),
    );
    raw.sort(
      (a, b) =>
        Number(a.row.ts === undefined) - Number(b.row.ts === undefined) ||
        (a.row.ts ?? 0) - (b.row.ts ?? 0) ||
        a.created - b.created ||
        (a.row.threadId < b.row.threadId
          ? -1
          : a.row.threadId > b.row.threadId
            ? 1
            : 0),
    );
    const seen = new Set<string>();
    const total = new Totals();
    const groups = new Map<string, Totals>();
    const labels = new Map<string, string | null>();
    const shift = (args.tzOffsetMinutes ?? 0) * 60_000;
    for (const { row, mid } of raw) {
      if (row.ts === undefined && withFile.has(row.threadId)) continue;
      if (typeof mid === "string") {
        if (seen.has(mid)) continue;
        seen.add(mid);
      }
      if (
        args.since != null &&
        (row.when === undefined || row.when < args.since)
      )
        continue;
      const price = priceOf(row.model, row.ts);
      const cost = price === null ? null : costOf(price, row.counts);
      total.add(row, cost);
      if (args.by == null) continue;
      let key: string;
      let label: string | null = null;
      if (args.by === "day")
        key =
          row.when === undefined
            ? "(no time)"
            : new Date(row.when + shift).toISOString().slice(0, 10);
      else if (args.by === "model") key = row.model ?? "(unknown)";
      else if (args.by === "source") key = row.source ?? "(unknown)";
      else if (args.by === "project") key = row.cwd ?? "(no folder)";
      else {
        key = row.threadId;
        label = row.title ?? null;
      }
      if (!groups.has(key)) groups.set(key, new Totals());
      groups.get(key)!.add(row, cost);
      labels.set(key, label);
    }
    const keys = [...groups.keys()];
    if (args.by === "day") keys.sort();
    else
      keys.sort(
        (a, b) =>
          groups.get(b)!.counts.totalTokens -
            groups.get(a)!.counts.totalTokens || (a < b ? -1 : a > b ? 1 : 0),
      );
    return {
      total: total.json(),
      groups: keys.map((k) => ({
        key: k,
        label: labels.get(k) ?? null,
        ...groups.get(k)!.json(),
      })),
      by: args.by ?? null,
      since: args.since ?? null,
      truncated,
    };
  },
});
