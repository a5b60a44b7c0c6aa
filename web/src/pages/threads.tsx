/**
 * `/`: every thread, newest first, live. A virtual list (fixed row height, only the rows on screen
 * are in the DOM) over the pages loaded so far; the next page loads as the list nears its end.
 * Filters (agent, project, title) live in the URL, so a filtered list is a link.
 */
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { bridge } from "../bridge";
import { useSubscription, useTitle } from "../hooks";
import { navigate, useLocation } from "../router";
import { threads } from "../threads";
import { ago, basename, isoTime, type ThreadRow } from "../util";

export const ROW_HEIGHT = 68;
const OVERSCAN = 8;

interface Project {
  id: string;
  name: string;
  workingDir: string;
}

function inProject(t: ThreadRow, dir: string): boolean {
  return !!t.cwd && (t.cwd === dir || t.cwd.startsWith(dir.endsWith("/") ? dir : dir + "/"));
}

function useProjects(): Project[] {
  const [projects, setProjects] = useState<Project[]>([]);
  useEffect(() => {
    let live = true;
    const load = () =>
      bridge.call("projects").then(
        (r) => live && setProjects(r.projects as Project[]),
        () => undefined,
      );
    const offs = [bridge.onOpen(load), bridge.on("rows.projects", load), bridge.on("rows.projects.removed", load)];
    return () => {
      live = false;
      offs.forEach((f) => f());
    };
  }, []);
  return projects;
}

function ThreadItem({ t, top }: { t: ThreadRow; top: number }) {
  const count = threads.counts.get(t.threadId);
  return (
    <a class="trow" href={`/t/${encodeURIComponent(t.threadId)}`} style={{ top: `${top}px` }} data-thread={t.threadId}>
      <div class="t-title">{t.title || <span class="muted">(no title)</span>}</div>
      <div class="t-meta">
        <span class={`badge src-${t.source ?? "unknown"}`}>{t.source ?? "?"}</span>
        {t.cwd && (
          <span class="proj" title={t.cwd}>
            {basename(t.cwd)}
          </span>
        )}
        <time title={isoTime(t.updatedAt)}>{ago(t.updatedAt)}</time>
        <span class="count">{count === undefined ? "…" : `${count} msg`}</span>
        {t.parentThreadId && <span class="muted">subthread</span>}
      </div>
    </a>
  );
}

export function ThreadsPage() {
  useTitle("Threads");
  const loc = useLocation();
  const source = loc.query.get("source") ?? "";
  const project = loc.query.get("project") ?? "";
  const q = (loc.query.get("q") ?? "").toLowerCase();
  useEffect(() => threads.start(), []);
  useSubscription(threads.subscribe.bind(threads));
  const projects = useProjects();
  const all = threads.all();
  const shown = useMemo(
    () =>
      all.filter(
        (t) =>
          (!source || t.source === source) &&
          (!project || inProject(t, project)) &&
          (!q || (t.title ?? "").toLowerCase().includes(q) || t.threadId.startsWith(q)),
      ),
    [all, source, project, q],
  );
  const folders = useMemo(() => {
    const seen = new Map<string, number>();
    for (const t of all) if (t.cwd) seen.set(t.cwd, (seen.get(t.cwd) ?? 0) + 1);
    return Array.from(seen.entries())
      .sort((a, b) => b[1] - a[1])
      .slice(0, 40)
      .map(([dir]) => dir);
  }, [all.length]);

  // Virtual list: the window scrolls; only the rows in view (and a few more) are rendered.
  const listRef = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ y: 0, h: 800, top: 0 });
  useLayoutEffect(() => {
    const measure = () => {
      const el = listRef.current;
      if (!el) return;
      const top = el.getBoundingClientRect().top + scrollY;
      setView({ y: scrollY, h: innerHeight, top });
    };
    measure();
    addEventListener("scroll", measure, { passive: true });
    addEventListener("resize", measure);
    return () => {
      removeEventListener("scroll", measure);
      removeEventListener("resize", measure);
    };
  }, []);
  const first = Math.max(0, Math.floor((view.y - view.top) / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(shown.length, Math.ceil((view.y - view.top + view.h) / ROW_HEIGHT) + OVERSCAN);
  const visible = shown.slice(first, last);

  useEffect(() => {
    threads.queueCounts(visible.map((t) => t.threadId));
    // Near the end of what is loaded (or a filter keeps few): read the next page.
    if (threads.hasMore && last > shown.length - 60) void threads.loadMore();
  });

  const setFilter = (key: string, value: string) => {
    const next = new URLSearchParams(loc.query);
    if (value) next.set(key, value);
    else next.delete(key);
    const s = next.toString();
    navigate(s ? `/?${s}` : "/", true);
  };

  return (
    <section class="page threads-page">
      <div class="toolbar">
        <select aria-label="Agent" value={source} onChange={(e) => setFilter("source", (e.target as HTMLSelectElement).value)}>
          <option value="">All agents</option>
          <option value="codex">Codex</option>
          <option value="claude">Claude Code</option>
          <option value="app">App</option>
        </select>
        <select aria-label="Project" value={project} onChange={(e) => setFilter("project", (e.target as HTMLSelectElement).value)}>
          <option value="">All projects</option>
          {projects.map((p) => (
            <option key={p.id} value={p.workingDir}>
              {p.name}
            </option>
          ))}
          {folders
            .filter((d) => !projects.some((p) => p.workingDir === d))
            .map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          {project && !folders.includes(project) && !projects.some((p) => p.workingDir === project) && (
            <option value={project}>{project}</option>
          )}
        </select>
        <input
          type="search"
          placeholder="Filter titles"
          aria-label="Filter titles"
          value={loc.query.get("q") ?? ""}
          onInput={(e) => setFilter("q", (e.target as HTMLInputElement).value)}
        />
        <span class="muted small count-note">
          {shown.length.toLocaleString()} thread{shown.length === 1 ? "" : "s"}
          {threads.hasMore ? " (more load as you scroll)" : ""}
        </span>
      </div>
      {threads.error && <div class="error-text">{threads.error}</div>}
      {threads.loadedOnce && !shown.length && !threads.hasMore && <p class="empty">No threads yet.</p>}
      <div class="tlist" ref={listRef} style={{ height: `${shown.length * ROW_HEIGHT}px` }} data-total={shown.length}>
        {visible.map((t, i) => (
          <ThreadItem key={t.threadId} t={t} top={(first + i) * ROW_HEIGHT} />
        ))}
      </div>
      {threads.loading && <p class="muted small">Loading…</p>}
    </section>
  );
}
