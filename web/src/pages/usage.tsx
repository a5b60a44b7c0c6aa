/**
 * `/usage`: tokens and estimated cost, grouped by day, model, source, project or thread, from the
 * bridge's `usage.summary` verb: `{total: {...totalTokens, costUsd}, groups: [{key, ...same}]}`.
 * The grouping and the start date live in the URL. A bridge that does not know the verb (an older
 * supervisor) gets a clear "usage not available" note, never a blank page or a raw error.
 */
import { useEffect, useState } from "preact/hooks";
import { bridge, BridgeError, type Json } from "../bridge";
import { useTitle } from "../hooks";
import { navigate, useLocation } from "../router";

export const GROUPINGS = ["day", "model", "source", "project", "thread"] as const;

/** The token counters a total or a group may carry, in display order. */
const COUNTERS: Array<[string, string]> = [
  ["inputTokens", "input"],
  ["cachedInputTokens", "cached input"],
  ["outputTokens", "output"],
  ["reasoningTokens", "reasoning"],
  ["totalTokens", "total"],
];

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function tokens(v: unknown): string {
  const n = num(v);
  return n === null ? "–" : n.toLocaleString();
}

function usd(v: unknown): string {
  const n = num(v);
  if (n === null) return "unpriced";
  return n < 0.01 && n > 0 ? `$${n.toFixed(4)}` : `$${n.toFixed(2)}`;
}

/** A group's label: its `key` (or the field named after the grouping), a thread's title when given. */
export function groupLabel(g: Json, by: string): string {
  const key = g.key ?? g[by] ?? g.label ?? null;
  if (by === "thread" && typeof g.title === "string" && g.title) return g.title;
  return key === null || key === "" ? "(none)" : String(key);
}

/** Horizontal bars (plain SVG, no library): one per group, scaled to the largest. */
function Bars({ groups, by, field, format }: { groups: Json[]; by: string; field: string; format: (v: unknown) => string }) {
  const values = groups.map((g) => num(g[field]) ?? 0);
  const max = Math.max(1e-9, ...values);
  const rowH = 22;
  return (
    <svg class="bars" viewBox={`0 0 680 ${groups.length * rowH}`} width="680" height={groups.length * rowH} preserveAspectRatio="xMinYMin meet" role="img" aria-label={`${field} by ${by}`}>
      {groups.map((g, i) => {
        const w = Math.max(1, (values[i] / max) * 300);
        return (
          <g key={i} transform={`translate(0 ${i * rowH})`}>
            <text x="0" y="15" class="bar-label">
              {groupLabel(g, by).slice(0, 36)}
            </text>
            <rect x="240" y="4" width={w} height="14" rx="2" />
            <text x={248 + w} y="15" class="bar-value">
              {format(g[field])}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

type State = { kind: "loading" } | { kind: "unavailable"; why: string } | { kind: "error"; message: string } | { kind: "ok"; data: Json };

export function UsagePage() {
  useTitle("Usage");
  const loc = useLocation();
  const by = GROUPINGS.includes(loc.query.get("by") as (typeof GROUPINGS)[number]) ? (loc.query.get("by") as string) : "day";
  const since = loc.query.get("since") ?? "";
  const [state, setState] = useState<State>({ kind: "loading" });

  useEffect(() => {
    let live = true;
    const load = () => {
      const sinceMs = since ? Date.parse(since) : NaN;
      bridge.call("usage.summary", { by, ...(Number.isFinite(sinceMs) ? { since: sinceMs } : {}) }).then(
        (data) => live && setState({ kind: "ok", data }),
        (e: Error) => {
          if (!live) return;
          if (e instanceof BridgeError && e.code === "unknown_verb") setState({ kind: "unavailable", why: e.message });
          else setState({ kind: "error", message: String(e.message ?? e) });
        },
      );
    };
    const off = bridge.onOpen(load);
    return () => {
      live = false;
      off();
    };
  }, [by, since]);

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(loc.query);
    if (value) next.set(key, value);
    else next.delete(key);
    navigate(`/usage?${next.toString()}`, true);
  };

  const total: Json = state.kind === "ok" ? (state.data?.total ?? {}) : {};
  const groups: Json[] = state.kind === "ok" && Array.isArray(state.data?.groups) ? state.data.groups : [];
  const hasCost = groups.some((g) => num(g.costUsd) !== null);
  return (
    <section class="page usage-page" data-state={state.kind}>
      <div class="toolbar">
        <label>
          By{" "}
          <select aria-label="Group by" value={by} onChange={(e) => set("by", (e.target as HTMLSelectElement).value)}>
            {GROUPINGS.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <label>
          Since <input type="date" aria-label="Since" value={since} onChange={(e) => set("since", (e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {state.kind === "loading" && <p class="muted">Loading…</p>}
      {state.kind === "unavailable" && (
        <div class="empty usage-unavailable">
          <h2>Usage not available</h2>
          <p>This bridge does not answer usage summaries yet (its supervisor predates them). Update oa-supervisor and restart it; threads, search and runs work meanwhile.</p>
        </div>
      )}
      {state.kind === "error" && <div class="error-text">Could not load usage: {state.message}</div>}
      {state.kind === "ok" && (
        <>
          <div class="usage-total">
            {COUNTERS.map(([field, label]) => (
              <div key={field} class="card" data-field={field}>
                <div class="muted small">{label} tokens</div>
                <b>{tokens(total[field])}</b>
              </div>
            ))}
            <div class="card" data-field="costUsd">
              <div class="muted small">estimated cost</div>
              <b>{usd(total.costUsd)}</b>
            </div>
          </div>
          {!groups.length && <p class="empty">No usage recorded{since ? " since then" : ""}.</p>}
          {groups.length > 0 && (
            <>
              <h2>Tokens by {by}</h2>
              <Bars groups={groups} by={by} field="totalTokens" format={tokens} />
              {hasCost && (
                <>
                  <h2>Estimated cost by {by}</h2>
                  <Bars groups={groups} by={by} field="costUsd" format={usd} />
                </>
              )}
              <div class="table-wrap">
                <table class="usage-groups">
                  <thead>
                    <tr>
                      <th>{by}</th>
                      {COUNTERS.map(([f, label]) => (
                        <th key={f}>{label}</th>
                      ))}
                      <th>cost</th>
                    </tr>
                  </thead>
                  <tbody>
                    {groups.map((g, i) => (
                      <tr key={i}>
                        <td>{by === "thread" && g.key ? <a href={`/t/${encodeURIComponent(String(g.key))}`}>{groupLabel(g, by)}</a> : groupLabel(g, by)}</td>
                        {COUNTERS.map(([f]) => (
                          <td key={f} class="num">
                            {tokens(g[f])}
                          </td>
                        ))}
                        <td class="num">{usd(g.costUsd)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )}
        </>
      )}
    </section>
  );
}
