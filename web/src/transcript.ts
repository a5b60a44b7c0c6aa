/**
 * One thread's messages, live: `messages.forThread` pages in seq order (the first with
 * `subscribe`), merged by key with its `rows.messages` events; a row written late (a lower,
 * maybe fractional seq) is inserted at its place. After a reconnection the thread is read again
 * from two user turns before the end (docs/protocol.md: Claude rows written late sort there).
 */
import { useEffect, useState } from "preact/hooks";
import { bridge } from "./bridge";
import { mergeRows, type MessageRow, type ThreadRow } from "./util";

const PAGE = 1000;

export interface Transcript {
  rows: MessageRow[];
  thread: ThreadRow | null;
  loading: boolean;
  loaded: boolean;
  error: string | null;
}

function resumeSeq(rows: MessageRow[]): number {
  let prompts = 0;
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i].role === "user" && rows[i].kind === "message" && ++prompts === 2) return i > 0 ? rows[i - 1].seq : -1;
  }
  return -1;
}

export function useTranscript(threadId: string): Transcript {
  const [state, setState] = useState<Transcript>({ rows: [], thread: null, loading: true, loaded: false, error: null });
  useEffect(() => {
    let live = true;
    let rows: MessageRow[] = [];
    let thread: ThreadRow | null = null;
    let loaded = false;
    const keys = new Set<string>();
    let frame = 0;
    const publish = (loading: boolean, error: string | null = null) => {
      if (!live) return;
      if (frame) cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (live) setState({ rows, thread, loading, loaded, error });
      });
    };
    const load = async () => {
      let after = loaded ? resumeSeq(rows) : -1;
      let first = true;
      let shown = 0; // when rows were last handed to the page (ms)
      try {
        for (;;) {
          const r = await bridge.call("messages.forThread", { threadId, afterSeq: after, limit: PAGE, subscribe: first || undefined });
          if (!live) return;
          first = false;
          thread = r.thread ?? thread;
          rows = mergeRows(rows, r.messages, keys);
          after = r.nextAfterSeq;
          if (!r.hasMore) break;
          // Show the first page at once, then at most once a second while the rest streams in:
          // rendering every page of a long thread would cost more than reading it.
          if (performance.now() - shown > 1000) {
            shown = performance.now();
            publish(true);
          }
        }
        loaded = true;
        publish(false);
      } catch (e) {
        publish(false, String((e as Error).message ?? e));
      }
    };
    const offEvent = bridge.on("rows.messages", (d: { threadId: string; rows: MessageRow[] }) => {
      if (d.threadId !== threadId) return;
      const next = mergeRows(rows, d.rows, keys);
      if (next !== rows) {
        rows = next;
        publish(!loaded);
      }
    });
    const offThread = bridge.on("rows.threads", (d: { rows: ThreadRow[] }) => {
      const mine = d.rows.find((t) => t.threadId === threadId);
      if (mine) {
        thread = mine;
        publish(!loaded);
      }
    });
    const offOpen = bridge.onOpen(() => void load());
    return () => {
      live = false;
      if (frame) cancelAnimationFrame(frame);
      offEvent();
      offThread();
      offOpen();
      if (bridge.state === "open") void bridge.call("unsubscribe", { query: "messages.forThread", threadId }).catch(() => undefined);
    };
  }, [threadId]);
  return state;
}
