/**
 * The threads the app knows, live: `threads.list` pages (newest first) with `subscribe`, merged
 * by threadId with the `rows.threads` events; message counts from `threads.counts`, asked for the
 * rows on screen and again for threads that change. Shared by the list and the transcript pages.
 */
import { bridge } from "./bridge";
import { compareThreads, type ThreadRow } from "./util";

const FIRST_PAGE = 100;
const NEXT_PAGE = 500;

class ThreadStore {
  private byId = new Map<string, ThreadRow>();
  private sorted: ThreadRow[] = [];
  private dirty = false;
  private listeners = new Set<() => void>();
  private started = false;
  private countQueue = new Set<string>();
  private countTimer: ReturnType<typeof setTimeout> | null = null;
  counts = new Map<string, number>();
  cursor: number | null = null;
  hasMore = true;
  loading = false;
  loadedOnce = false;
  error: string | null = null;

  start(): void {
    if (this.started) return;
    this.started = true;
    bridge.on("rows.threads", (d: { rows: ThreadRow[] }) => {
      this.merge(d.rows);
      this.queueCounts(d.rows.map((r) => r.threadId), true);
    });
    // First page with the subscription, again after every reconnection (rows changed meanwhile
    // are the newest, so they are in it).
    bridge.onOpen(() => void this.firstPage());
  }

  private async firstPage(): Promise<void> {
    this.loading = true;
    try {
      const r = await bridge.call("threads.list", { limit: FIRST_PAGE, subscribe: true });
      this.merge(r.threads);
      if (!this.loadedOnce) {
        this.cursor = r.nextBeforeUpdatedAt;
        this.hasMore = r.hasMore;
      }
      this.loadedOnce = true;
      this.error = null;
    } catch (e) {
      this.error = String((e as Error).message ?? e);
    } finally {
      this.loading = false;
      this.notify();
    }
  }

  /** The next page (older threads), if any and none is being read. */
  async loadMore(): Promise<void> {
    if (this.loading || !this.hasMore || !this.loadedOnce) return;
    this.loading = true;
    try {
      const r = await bridge.call("threads.list", { limit: NEXT_PAGE, beforeUpdatedAt: this.cursor ?? undefined });
      this.merge(r.threads);
      this.cursor = r.nextBeforeUpdatedAt;
      this.hasMore = r.hasMore;
    } catch (e) {
      this.error = String((e as Error).message ?? e);
    } finally {
      this.loading = false;
      this.notify();
    }
  }

  merge(rows: ThreadRow[]): void {
    for (const row of rows) this.byId.set(row.threadId, row);
    if (rows.length) {
      this.dirty = true;
      this.notify();
    }
  }

  get(threadId: string): ThreadRow | undefined {
    return this.byId.get(threadId);
  }

  all(): ThreadRow[] {
    if (this.dirty) {
      this.sorted = Array.from(this.byId.values()).sort(compareThreads);
      this.dirty = false;
    }
    return this.sorted;
  }

  children(threadId: string): ThreadRow[] {
    return this.all().filter((t) => t.parentThreadId === threadId);
  }

  /** Ask the message counts of these threads (batched; `again`: also those already known). */
  queueCounts(ids: string[], again = false): void {
    for (const id of ids) if (again || !this.counts.has(id)) this.countQueue.add(id);
    if (this.countQueue.size && this.countTimer === null) this.countTimer = setTimeout(() => void this.flushCounts(), 60);
  }

  private async flushCounts(): Promise<void> {
    this.countTimer = null;
    const ids = Array.from(this.countQueue).slice(0, 500);
    for (const id of ids) this.countQueue.delete(id);
    if (!ids.length) return;
    try {
      const r = await bridge.call("threads.counts", { threadIds: ids });
      for (const [id, n] of Object.entries(r.counts as Record<string, number>)) this.counts.set(id, n);
      this.notify();
    } catch {
      /* shown as unknown; asked again when the thread changes */
    }
    if (this.countQueue.size) this.queueCounts([]);
  }

  subscribe(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }

  private notify(): void {
    for (const fn of this.listeners) fn();
  }
}

export const threads = new ThreadStore();
