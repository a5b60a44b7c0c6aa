/**
 * The web app: layout, navigation and the page for each path. Everything else goes over /ws.
 *
 * The thread list (the first page most people open) is in the entry bundle; every other page is a
 * chunk loaded when first shown (the transcript's Markdown renderer alone is half the code), so
 * the first load stays small and the WebSocket opens while a chunk is still on its way.
 */
import "./style.css";
import { render, type VNode } from "preact";
import { useEffect, useState } from "preact/hooks";
import { bridge, type ConnState } from "./bridge";
import { useLocation } from "./router";
import { ThreadsPage } from "./pages/threads";

const loadThread = () => import("./pages/thread");
const loadSearch = () => import("./pages/search");
const loadStatus = () => import("./pages/status");
const loadUsage = () => import("./pages/usage");
const loadProjects = () => import("./pages/projects");
const loaded = new Map<unknown, unknown>();

/** A page from a chunk: rendered once its module is loaded; a failed load says so (never blank).
 *  Each use has its own `key`: another page is another component, never this one's old module. */
function Lazy<T>({ load, render: show }: { load: () => Promise<T>; render: (mod: T) => VNode }) {
  const [mod, setMod] = useState<T | null>(() => (loaded.get(load) as T | undefined) ?? null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (mod) return;
    let live = true;
    load().then(
      (m) => {
        loaded.set(load, m);
        if (live) setMod(m);
      },
      (e: unknown) => live && setError(String(e)),
    );
    return () => {
      live = false;
    };
  }, [load]);
  if (error) return <p class="error-text">This page could not be loaded ({error}). Reload to try again.</p>;
  return mod ? show(mod) : <p class="muted">Loading…</p>;
}

function Conn() {
  const [state, setState] = useState<ConnState>(bridge.state);
  const [machine, setMachine] = useState(bridge.machine);
  useEffect(() => {
    const sync = () => {
      setState(bridge.state);
      setMachine(bridge.machine);
    };
    const off = bridge.onState(sync);
    sync(); // it may have changed before this effect ran
    return off;
  }, []);
  const label = state === "open" ? "live" : state === "connecting" ? "connecting…" : "offline, retrying";
  return (
    <span class={`conn conn-${state}`} role="status" title="The bridge connection and the desktop it runs on">
      {label}
      {machine && <span class="machine"> · {machine}</span>}
    </span>
  );
}

function Page() {
  const loc = useLocation();
  const p = loc.path;
  if (p === "/") return <ThreadsPage />;
  if (p.startsWith("/t/")) {
    const id = decodeURIComponent(p.slice(3));
    return <Lazy key="thread" load={loadThread} render={(m) => <m.ThreadPage key={id} threadId={id} hash={loc.hash} />} />;
  }
  if (p === "/search") return <Lazy key="search" load={loadSearch} render={(m) => <m.SearchPage />} />;
  if (p === "/status") return <Lazy key="status" load={loadStatus} render={(m) => <m.StatusPage />} />;
  if (p === "/usage") return <Lazy key="usage" load={loadUsage} render={(m) => <m.UsagePage />} />;
  if (p === "/projects" || p === "/skills") return <Lazy key="projects" load={loadProjects} render={(m) => <m.ProjectsPage id={null} />} />;
  if (p.startsWith("/projects/")) {
    const id = decodeURIComponent(p.slice(10));
    return <Lazy key="projects" load={loadProjects} render={(m) => <m.ProjectsPage id={id} />} />;
  }
  return <p class="empty">No page here. <a href="/">Threads</a></p>;
}

function NavLink({ href, label, path }: { href: string; label: string; path: string }) {
  const current = href === "/" ? path === "/" || path.startsWith("/t/") : path.startsWith(href);
  return (
    <a href={href} aria-current={current ? "page" : undefined}>
      {label}
    </a>
  );
}

function App() {
  const loc = useLocation();
  return (
    <>
      <nav class="top">
        <a class="brand" href="/">
          OpenAgents
        </a>
        <NavLink href="/" label="Threads" path={loc.path} />
        <NavLink href="/search" label="Search" path={loc.path} />
        <NavLink href="/usage" label="Usage" path={loc.path} />
        <NavLink href="/status" label="Status" path={loc.path} />
        <NavLink href="/projects" label="Projects" path={loc.path} />
        <Conn />
      </nav>
      <main>
        <Page />
      </main>
    </>
  );
}

bridge.start();
render(<App />, document.getElementById("app")!);
