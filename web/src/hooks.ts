/** Hooks shared by the pages. */
import { useEffect, useReducer } from "preact/hooks";

/** Re-render (at most once per animation frame) whenever `subscribe`'s callback fires. */
export function useSubscription(subscribe: (fn: () => void) => () => void): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => {
    let frame = 0;
    const off = subscribe(() => {
      if (!frame) frame = requestAnimationFrame(() => ((frame = 0), bump(0)));
    });
    return () => {
      off();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [subscribe]);
}

/** The page's title in the tab. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · OpenAgents` : "OpenAgents";
  }, [title]);
}
