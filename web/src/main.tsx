/** The web app: layout, navigation and the page for each path. Everything else goes over /ws. */
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { bridge, type ConnState } from "./bridge";
import { useLocation } from "./router";
import { ProjectsPage } from "./pages/projects";
import { SearchPage } from "./pages/search";
import { StatusPage } from "./pages/status";
import { ThreadPage } from "./pages/thread";
import { ThreadsPage } from "./pages/threads";
import { UsagePage } from "./pages/usage";

function Conn() {
  const [state, setState] = useState<ConnState>(bridge.state);
  useEffect(() => {
    const off = bridge.onState(setState);
    setState(bridge.state); // it may have changed before this effect ran
    return off;
  }, []);
  const label = state === "open" ? "live" : state === "connecting" ? "connecting…" : "offline, retrying";
  return (
    <span class={`conn conn-${state}`} role="status" title="The bridge connection">
      {label}
    </span>
  );
}

function Page() {
  const loc = useLocation();
  const p = loc.path;
  if (p === "/") return <ThreadsPage />;
  if (p.startsWith("/t/")) {
    const id = decodeURIComponent(p.slice(3));
    return <ThreadPage key={id} threadId={id} hash={loc.hash} />;
  }
  if (p === "/search") return <SearchPage />;
  if (p === "/status") return <StatusPage />;
  if (p === "/usage") return <UsagePage />;
  if (p === "/projects" || p === "/skills") return <ProjectsPage id={null} />;
  if (p.startsWith("/projects/")) return <ProjectsPage id={decodeURIComponent(p.slice(10))} />;
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
