/**
 * `/t/<threadId>`: the transcript, live, with the run box. `#m-<key>` scrolls to one message
 * (search results link there). While the view is at the bottom, new rows keep it there.
 */
import { useEffect, useLayoutEffect, useRef } from "preact/hooks";
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

export function ThreadPage({ threadId, hash }: { threadId: string; hash: string }) {
  const { rows, thread, loading, loaded, error } = useTranscript(threadId);
  useEffect(() => threads.start(), []);
  useSubscription(threads.subscribe.bind(threads));
  if (thread && !threads.get(threadId)) threads.merge([thread]);
  useTitle(thread?.title || "Thread");
  const target = hash.startsWith("#m-") ? decodeURIComponent(hash.slice(3)) : "";
  const scrolledTo = useRef("");
  const atBottom = useRef(false);

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
  }, [rows.length, target]);

  return (
    <section class="page thread-page" data-loaded={loaded ? "1" : "0"} data-rows={rows.length}>
      <Header threadId={threadId} count={rows.length} />
      {error && <div class="error-text">Could not load this thread: {error}</div>}
      {loaded && !rows.length && <p class="empty">No messages in this thread (yet).</p>}
      <div class="transcript">
        {rows.map((r) => (
          <Row key={r.key} row={r} target={r.key === target} />
        ))}
      </div>
      {loading && <p class="muted small">Loading… {rows.length.toLocaleString()} messages so far</p>}
      <RunBox threadId={threadId} thread={thread} />
      <button type="button" class="jump" onClick={() => window.scrollTo(0, document.documentElement.scrollHeight)} aria-label="Jump to the latest message">
        ↓
      </button>
    </section>
  );
}
