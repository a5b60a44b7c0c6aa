/**
 * `/t/<threadId>`: the transcript, live, with the run box. `#m-<key>` scrolls to one message
 * (search results link there). While the view is at the bottom, new rows keep it there.
 *
 * Long threads: every row is read, but only the first `CHUNK` rows (and up to a linked message)
 * are put in the page at first; more are added as the reader nears the end (or all at once with
 * "Show all" / the jump button). Building thousands of rows up front would cost seconds.
 */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { useSubscription, useTitle } from "../hooks";
import { Row } from "../rows";
import { threads } from "../threads";
import { useTranscript } from "../transcript";
import { basename, isoTime } from "../util";
import { RunBox } from "./runbox";

function Header({ threadId, count }: { threadId: string; count: number }) {
  const t = threads.get(threadId);
  const children = threads.children(threadId);
  const usage = t?.usage as Record<string, number> | null | undefined;
  const git = t?.git as Record<string, string> | null | undefined;
  return (
    <header class="thread-head">
      <h1>{t?.title || threadId}</h1>
      <div class="t-meta">
        {t?.source && <span class={`badge src-${t.source}`}>{t.source}</span>}
        {t?.cwd && (
          <a href={`/?project=${encodeURIComponent(t.cwd)}`} title={t.cwd}>
            {basename(t.cwd)}
          </a>
        )}
        {t?.model && <span>{String(t.model)}</span>}
        {git?.branch && <span>branch {git.branch}</span>}
        {t?.updatedAt && <time title={isoTime(t.updatedAt)}>updated {new Date(t.updatedAt).toLocaleString()}</time>}
        <span>{count} messages</span>
        {usage?.totalTokens ? <span>{usage.totalTokens.toLocaleString()} tokens</span> : null}
      </div>
      {t?.parentThreadId && (
        <div class="small">
          Subthread of{" "}
          <a href={`/t/${encodeURIComponent(t.parentThreadId)}`} class="parent-link">
            {threads.get(t.parentThreadId)?.title || t.parentThreadId}
          </a>
        </div>
      )}
      {children.length > 0 && (
        <div class="small children">
          Subthreads:{" "}
          {children.map((c) => (
            <a key={c.threadId} href={`/t/${encodeURIComponent(c.threadId)}`}>
              {c.title || c.threadId}
            </a>
          ))}
        </div>
      )}
      <div class="muted small mono">{threadId}</div>
    </header>
  );
}

export const CHUNK = 300;

export function ThreadPage({ threadId, hash }: { threadId: string; hash: string }) {
  const { rows, thread, loading, loaded, error } = useTranscript(threadId);
  useEffect(() => threads.start(), []);
  useSubscription(threads.subscribe.bind(threads));
  if (thread && !threads.get(threadId)) threads.merge([thread]);
  useTitle(thread?.title || "Thread");
  const target = hash.startsWith("#m-") ? decodeURIComponent(hash.slice(3)) : "";
  const scrolledTo = useRef("");
  const atBottom = useRef(false);
  const [mounted, setMounted] = useState(CHUNK);
  const sentinel = useRef<HTMLDivElement>(null);
  const targetAt = target ? rows.findIndex((r) => r.key === target) : -1;
  const limit = Math.max(mounted, targetAt + CHUNK / 2);
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  const hidden = rows.length - shown.length;

  // Mount the next chunk when the end of what is mounted comes near the screen.
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hidden) return;
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) setMounted((m) => Math.max(m, limit) + CHUNK);
    }, { rootMargin: "1500px 0px" });
    io.observe(el);
    return () => io.disconnect();
  }, [hidden, limit]);

  const toBottom = () => {
    setMounted(Number.MAX_SAFE_INTEGER);
    requestAnimationFrame(() => window.scrollTo(0, document.documentElement.scrollHeight));
  };

  useEffect(() => {
    const onScroll = () => {
      atBottom.current = innerHeight + scrollY >= document.documentElement.scrollHeight - 150;
    };
    addEventListener("scroll", onScroll, { passive: true });
    return () => removeEventListener("scroll", onScroll);
  }, []);

  useLayoutEffect(() => {
    if (target && scrolledTo.current !== target) {
      const el = document.getElementById(`m-${target}`);
      if (el) {
        scrolledTo.current = target;
        el.scrollIntoView({ block: "center" });
        return;
      }
    }
    if (atBottom.current) window.scrollTo(0, document.documentElement.scrollHeight);
  }, [rows.length, target, shown.length]);

  return (
    <section class="page thread-page" data-loaded={loaded ? "1" : "0"} data-rows={rows.length}>
      <Header threadId={threadId} count={rows.length} />
      {error && <div class="error-text">Could not load this thread: {error}</div>}
      {loaded && !rows.length && <p class="empty">No messages in this thread (yet).</p>}
      <div class="transcript">
        {shown.map((r) => (
          <Row key={r.key} row={r} target={r.key === target} />
        ))}
      </div>
      {hidden > 0 && (
        <div class="more" ref={sentinel}>
          <span>
            {hidden.toLocaleString()} later message{hidden === 1 ? "" : "s"} not shown yet.
          </span>
          <button type="button" onClick={() => setMounted(Math.max(mounted, limit) + CHUNK * 4)}>
            Show more
          </button>
          <button type="button" onClick={() => setMounted(Number.MAX_SAFE_INTEGER)}>
            Show all
          </button>
        </div>
      )}
      {loading && <p class="muted small">Loading… {rows.length.toLocaleString()} messages so far</p>}
      <RunBox threadId={threadId} thread={thread} />
      <button type="button" class="jump" onClick={toBottom} aria-label="Jump to the latest message">
        ↓
      </button>
    </section>
  );
}
