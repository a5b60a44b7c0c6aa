/** Small pure helpers (tested with vitest: web/test/util.test.ts). */

export interface MessageRow {
  threadId: string;
  key: string;
  seq: number;
  ts: number | null;
  role: string;
  kind: string;
  text: string | null;
  data: Record<string, unknown> | null;
  turnId: string | null;
}

export interface ThreadRow {
  threadId: string;
  source: string | null;
  title: string | null;
  cwd: string | null;
  model: string | null;
  parentThreadId: string | null;
  createdAt: number | null;
  updatedAt: number | null;
  [k: string]: unknown;
}

/** Messages sort by seq, then key (docs/rows.md, "Order"). */
export function compareRows(a: MessageRow, b: MessageRow): number {
  return a.seq - b.seq || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * Merge rows into a list sorted by (seq, key), by key (a row seen twice is kept once). Returns a
 * new array when something changed, else the same one. Live rows usually go at the end; a Claude
 * row written late has a lower (possibly fractional) seq and is inserted at its place.
 */
export function mergeRows(list: MessageRow[], rows: MessageRow[], keys: Set<string>): MessageRow[] {
  let out = list;
  for (const row of rows) {
    if (keys.has(row.key)) continue;
    keys.add(row.key);
    if (out === list) out = list.slice();
    const last = out[out.length - 1];
    if (!last || compareRows(last, row) < 0) {
      out.push(row);
      continue;
    }
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareRows(out[mid], row) < 0) lo = mid + 1;
      else hi = mid;
    }
    out.splice(lo, 0, row);
  }
  return out;
}

/** Threads newest first by updatedAt (a thread without one last), then by id. */
export function compareThreads(a: ThreadRow, b: ThreadRow): number {
  return (b.updatedAt ?? 0) - (a.updatedAt ?? 0) || (a.threadId < b.threadId ? -1 : 1);
}

export function basename(path: string | null | undefined): string {
  if (!path) return "";
  const parts = path.replace(/\/+$/, "").split("/");
  return parts[parts.length - 1] || path;
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return "";
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h ago`;
  const d = Math.round(h / 24);
  if (d < 60) return `${d} days ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function isoTime(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/** Only http(s), mailto and same-site relative links survive; anything else (javascript:, data:) is null. */
export function safeHref(href: string | null | undefined): string | null {
  if (!href) return null;
  const h = href.trim();
  if (h.startsWith("#") || (h.startsWith("/") && !h.startsWith("//"))) return h;
  try {
    const u = new URL(h);
    return u.protocol === "http:" || u.protocol === "https:" || u.protocol === "mailto:" ? u.href : null;
  } catch {
    return null;
  }
}

/** Split a snippet at its highlight offsets (code points, [start, end)) into [text, isMatch] parts. */
export function highlightParts(snippet: string, highlights: number[][]): Array<[string, boolean]> {
  const chars = Array.from(snippet);
  const parts: Array<[string, boolean]> = [];
  let at = 0;
  for (const [start, end] of [...highlights].sort((a, b) => a[0] - b[0])) {
    if (start < at || end <= start || start >= chars.length) continue;
    if (start > at) parts.push([chars.slice(at, start).join(""), false]);
    parts.push([chars.slice(start, Math.min(end, chars.length)).join(""), true]);
    at = Math.min(end, chars.length);
  }
  if (at < chars.length) parts.push([chars.slice(at).join(""), false]);
  return parts;
}

/** Pretty JSON for display (never throws). */
export function pretty(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}
