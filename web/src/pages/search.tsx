/**
 * `/search?q=...`: full-text search (the `search` verb) with highlighted snippets; each hit links
 * to its message in its thread (`/t/<id>#m-<key>`). Semantic and hybrid modes are listed but
 * disabled until the store has a semantic index.
 */
import { useEffect, useState } from "preact/hooks";
import { bridge } from "../bridge";
import { useTitle } from "../hooks";
import { navigate, useLocation } from "../router";
import { ago, basename, highlightParts, isoTime } from "../util";

interface Hit {
  threadId: string;
  key: string;
  ts: number | null;
  role: string;
  kind: string;
  source: string | null;
  title: string | null;
  cwd: string | null;
  snippet: string;
  highlights: number[][];
}

const FILTERS = ["source", "role", "kind"] as const;

function Snippet({ hit }: { hit: Hit }) {
  return (
    <p class="snippet">
      {highlightParts(hit.snippet, hit.highlights).map(([text, match], i) => (match ? <mark key={i}>{text}</mark> : text))}
    </p>
  );
}

export function SearchPage() {
  const loc = useLocation();
  const q = loc.query.get("q") ?? "";
  useTitle(q ? `Search: ${q}` : "Search");
  const [draft, setDraft] = useState(q);
  const [hits, setHits] = useState<Hit[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const filters: Record<string, string> = {};
  for (const f of FILTERS) {
    const v = loc.query.get(f);
    if (v) filters[f] = v;
  }
  const key = loc.query.toString();

  const run = async (more: string | null) => {
    setBusy(true);
    setError(null);
    try {
      const r = await bridge.call("search", { query: q, limit: 30, cursor: more ?? undefined, ...filters });
      setHits((old) => (more && old ? [...old, ...r.hits] : r.hits));
      setCursor(r.nextCursor);
    } catch (e) {
      setError(String((e as Error).message ?? e));
      if (!more) setHits(null);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    setDraft(q);
    if (q.trim()) void run(null);
    else setHits(null);
  }, [key]);

  const go = (changes: Record<string, string>) => {
    const next = new URLSearchParams(loc.query);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    navigate(`/search?${next.toString()}`);
  };

  return (
    <section class="page search-page">
      <form
        class="toolbar search-form"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: draft.trim() });
        }}
      >
        <input type="search" name="q" aria-label="Search" placeholder="Words, &quot;a phrase&quot;, prefix*" value={draft} onInput={(e) => setDraft((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary">
          Search
        </button>
        <select aria-label="Agent" value={filters.source ?? ""} onChange={(e) => go({ source: (e.target as HTMLSelectElement).value })}>
          <option value="">All agents</option>
          <option value="codex">Codex</option>
          <option value="claude">Claude Code</option>
          <option value="app">App</option>
        </select>
        <select aria-label="Role" value={filters.role ?? ""} onChange={(e) => go({ role: (e.target as HTMLSelectElement).value })}>
          <option value="">Any role</option>
          <option value="user">Prompts</option>
          <option value="assistant">Replies</option>
          <option value="tool">Tools</option>
          <option value="system">System</option>
        </select>
        <select aria-label="Kind" value={filters.kind ?? ""} onChange={(e) => go({ kind: (e.target as HTMLSelectElement).value })}>
          <option value="">Any kind</option>
          {["message", "reason", "cmd", "file", "search", "mcp", "todo", "tool", "error"].map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <select aria-label="Mode" value="keyword">
          <option value="keyword">Keyword</option>
          <option value="semantic" disabled>
            Semantic (needs the semantic index)
          </option>
          <option value="hybrid" disabled>
            Hybrid (needs the semantic index)
          </option>
        </select>
      </form>
      <p class="muted small">Semantic and hybrid search arrive with the semantic index; keyword search covers every stored message.</p>
      {error && <div class="error-text">{error}</div>}
      {hits && !hits.length && !error && <p class="empty">Nothing matches “{q}”.</p>}
      {hits && (
        <ol class="hits">
          {hits.map((h) => (
            <li key={h.key} class="hit">
              <a href={`/t/${encodeURIComponent(h.threadId)}#m-${h.key}`}>
                <div class="t-title">{h.title || h.threadId}</div>
                <Snippet hit={h} />
                <div class="t-meta">
                  {h.source && <span class={`badge src-${h.source}`}>{h.source}</span>}
                  <span>
                    {h.role}/{h.kind}
                  </span>
                  {h.cwd && <span title={h.cwd}>{basename(h.cwd)}</span>}
                  {h.ts && <time title={isoTime(h.ts)}>{ago(h.ts)}</time>}
                </div>
              </a>
            </li>
          ))}
        </ol>
      )}
      {cursor && (
        <button type="button" disabled={busy} onClick={() => void run(cursor)}>
          More results
        </button>
      )}
      {busy && <p class="muted small">Searching…</p>}
    </section>
  );
}
