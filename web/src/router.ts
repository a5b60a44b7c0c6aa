/** A tiny client router: the pathname picks the page; links navigate without reloading. */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

export function navigate(url: string, replace = false): void {
  if (replace) history.replaceState(null, "", url);
  else history.pushState(null, "", url);
  for (const fn of listeners) fn();
  if (!replace && !url.includes("#")) window.scrollTo(0, 0);
}

addEventListener("popstate", () => {
  for (const fn of listeners) fn();
});

/** Same-origin links (`<a href="/...">`) navigate in the app; modified clicks keep the browser's way. */
addEventListener("click", (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download")) return;
  const href = a.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//")) return;
  e.preventDefault();
  navigate(href);
});

export interface Location {
  path: string;
  query: URLSearchParams;
  hash: string;
}

function current(): Location {
  return { path: location.pathname, query: new URLSearchParams(location.search), hash: location.hash };
}

/** The current location; the component re-renders when it changes. */
export function useLocation(): Location {
  const [loc, setLoc] = useState(current);
  useEffect(() => {
    const fn = () => setLoc(current());
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return loc;
}
