/**
 * The bridge WebSocket from the browser: same origin `/ws`, authenticated by the session cookie
 * (the server checks Origin). Requests are matched to replies by id; events go to listeners.
 * It reconnects with backoff, and runs the `onOpen` hooks again so live queries re-subscribe.
 * When the session has ended (the upgrade is refused), the page reloads into the 401 page.
 */

export type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

export class BridgeError extends Error {
  constructor(
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

type Pending = { resolve: (v: Json) => void; reject: (e: Error) => void };
type Listener = (data: Json) => void;
export type ConnState = "connecting" | "open" | "closed";

export class Bridge {
  private ws: WebSocket | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private listeners = new Map<string, Set<Listener>>();
  private openHooks = new Set<() => void>();
  private stateHooks = new Set<(s: ConnState) => void>();
  private waiters: Array<() => void> = [];
  private backoff = 500;
  state: ConnState = "connecting";
  everOpened = false;
  /** The desktop this bridge runs on (`bridge.hello`), for the header: several desktops can share a phone. */
  machine = "";

  constructor(private url: string) {}

  start(): void {
    this.connect();
  }

  private setState(s: ConnState): void {
    this.state = s;
    for (const fn of this.stateHooks) fn(s);
  }

  private connect(): void {
    this.setState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.everOpened = true;
      this.backoff = 500;
      this.setState("open");
      const waiting = this.waiters;
      this.waiters = [];
      for (const w of waiting) w();
      for (const fn of this.openHooks) fn();
    };
    ws.onmessage = (e) => this.onFrame(e.data as string);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const p of this.pending.values()) p.reject(new BridgeError("disconnected", "connection lost"));
      this.pending.clear();
      this.setState("closed");
      if (!opened) void this.checkSession();
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 10_000);
    };
  }

  /** A refused upgrade looks like any network error: ask the server whether the session lives. */
  private async checkSession(): Promise<void> {
    try {
      const r = await fetch(location.pathname, { method: "HEAD", cache: "no-store" });
      if (r.status === 401) location.reload();
    } catch {
      /* the server is down: keep retrying */
    }
  }

  private onFrame(raw: string): void {
    let msg: Json;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.type === "event") {
      if (msg.event === "bridge.hello") {
        this.machine = typeof msg.data?.machine === "string" ? msg.data.machine : "";
        this.setState(this.state); // the header shows the machine with the connection state
      }
      const set = this.listeners.get(msg.event);
      if (set) for (const fn of set) fn(msg.data);
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new BridgeError(msg.error?.code ?? "internal", msg.error?.message ?? "request failed"));
  }

  private opened(): Promise<void> {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Send one verb and wait for its reply (waits for the connection first). */
  async call<T = Json>(control: string, args: Record<string, unknown> = {}): Promise<T> {
    await this.opened();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws!.send(JSON.stringify({ ...args, control, id }));
    });
  }

  /** Listen to an event; returns the function that stops listening. */
  on(event: string, fn: Listener): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => set!.delete(fn);
  }

  /** Run `fn` on every (re)connection, and now if connected; returns the function that stops it. */
  onOpen(fn: () => void): () => void {
    this.openHooks.add(fn);
    if (this.state === "open") fn();
    return () => this.openHooks.delete(fn);
  }

  onState(fn: (s: ConnState) => void): () => void {
    this.stateHooks.add(fn);
    return () => this.stateHooks.delete(fn);
  }
}

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
export const bridge = new Bridge(`${scheme}//${location.host}/ws`);
