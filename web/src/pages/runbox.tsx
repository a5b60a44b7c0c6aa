/**
 * The run box under a transcript: continue the thread with an agent turn (`run.submit`, Codex or
 * Claude Code), see the run's stdout live (`run.stdout`), its state (`run.state`), and stop it
 * (`interrupt`). The turn's rows also arrive in the transcript through its subscription.
 */
import { useEffect, useState } from "preact/hooks";
import { bridge } from "../bridge";
import { pretty, type ThreadRow } from "../util";

interface RunState {
  runId: string;
  threadDocId: string;
  provider: string;
  status: string;
  exitCode: number | null;
  error: string | null;
  warning: string | null;
  createdAt: number;
}

const ACTIVE = new Set(["pending", "queued", "running", "starting"]);
const MAX_LINES = 400;

/** A short, readable form of one stdout line of Codex (`--json`) or Claude Code (stream-json). */
export function describeLine(line: unknown): string {
  if (typeof line === "string") return line;
  if (!line || typeof line !== "object") return pretty(line);
  const o = line as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const item = o.item as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (item) {
    const text = item.text ?? item.command ?? item.aggregated_output ?? "";
    return `${o.type} ${item.type ?? ""}${text ? ": " + String(text).slice(0, 2000) : ""}`;
  }
  if (o.type === "assistant" || o.type === "user") {
    const parts = (o.message?.content ?? []) as Array<Record<string, unknown>>;
    const text = parts.map((p) => p.text ?? p.name ?? p.type).join(" ");
    return `${o.type}: ${String(text).slice(0, 2000)}`;
  }
  if (typeof o.type === "string") {
    const rest = { ...o };
    delete rest.type;
    const tail = JSON.stringify(rest);
    return tail === "{}" ? o.type : `${o.type} ${tail.slice(0, 400)}`;
  }
  return JSON.stringify(o).slice(0, 2000);
}

export function RunBox({ threadId, thread }: { threadId: string; thread: ThreadRow | null }) {
  const [text, setText] = useState("");
  const [provider, setProvider] = useState(thread?.source === "claude" ? "claude" : "codex");
  const [run, setRun] = useState<RunState | null>(null);
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => {
    setProvider(thread?.source === "claude" ? "claude" : "codex");
  }, [thread?.source]);

  useEffect(() => {
    let runId: string | null = null;
    const offs = [
      bridge.on("run.state", (d: RunState) => {
        if (d.threadDocId !== threadId) return;
        if (runId !== d.runId) setLines([]);
        runId = d.runId;
        setRun(d);
      }),
      bridge.on("run.stdout", (d: { runId: string; threadDocId: string; line: unknown }) => {
        if (d.threadDocId !== threadId) return;
        setLines((old) => [...old.slice(-(MAX_LINES - 1)), describeLine(d.line)]);
      }),
      bridge.onOpen(() => {
        bridge.call("runs.list").then(
          (r) => {
            const mine = (r.runs as RunState[]).filter((x) => x.threadDocId === threadId);
            const latest = mine.sort((a, b) => b.createdAt - a.createdAt)[0];
            if (latest && (runId === null || runId === latest.runId)) {
              runId = latest.runId;
              setRun(latest);
            }
          },
          () => undefined,
        );
      }),
    ];
    return () => offs.forEach((f) => f());
  }, [threadId]);

  const active = run !== null && ACTIVE.has(run.status);
  const submit = async (e: Event) => {
    e.preventDefault();
    const prompt = text.trim();
    if (!prompt || sending) return;
    setSending(true);
    setError(null);
    try {
      const resumeId = thread && thread.source === provider ? threadId : undefined;
      await bridge.call("run.submit", { threadDocId: threadId, text: prompt, provider, resumeId });
      setText("");
    } catch (err) {
      setError(String((err as Error).message ?? err));
    } finally {
      setSending(false);
    }
  };
  const stop = async () => {
    if (!run) return;
    try {
      await bridge.call("interrupt", { runId: run.runId });
    } catch (err) {
      setError(String((err as Error).message ?? err));
    }
  };

  return (
    <form class="runbox" onSubmit={submit}>
      <label class="sr-only" for="run-text">
        Message to the agent
      </label>
      <textarea
        id="run-text"
        rows={3}
        placeholder="Continue this thread…"
        value={text}
        onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) void submit(e);
        }}
      />
      <div class="run-actions">
        <select aria-label="Agent" value={provider} onChange={(e) => setProvider((e.target as HTMLSelectElement).value)}>
          <option value="codex">Codex</option>
          <option value="claude">Claude Code</option>
        </select>
        <button type="submit" class="primary" disabled={sending || !text.trim()}>
          Send
        </button>
        {active && (
          <button type="button" class="danger" onClick={stop}>
            Stop
          </button>
        )}
        {run && (
          <span class={`run-status st-${run.status}`} data-run={run.runId}>
            {run.provider} run {run.status}
            {run.exitCode !== null ? ` (exit ${run.exitCode})` : ""}
          </span>
        )}
      </div>
      {error && <div class="error-text">{error}</div>}
      {run?.error && <div class="error-text">{run.error}</div>}
      {run?.warning && <div class="warning">{run.warning}</div>}
      {lines.length > 0 && (
        <details class="run-output" open>
          <summary>Live output ({lines.length} lines)</summary>
          <pre>{lines.join("\n")}</pre>
        </details>
      )}
    </form>
  );
}
