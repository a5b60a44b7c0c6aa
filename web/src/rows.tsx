/**
 * One transcript row per message kind (docs/rows.md): prompts, replies (safe Markdown), folded
 * reasoning, commands with their exit code and collapsible output, file changes as a diff, todo
 * lists, MCP calls, errors, subagent links. An unknown kind, or a row whose rendering fails,
 * is shown raw (never a blank page). Long texts are cut with a way to see more.
 */
import { Component, type ComponentChildren } from "preact";
import { useState } from "preact/hooks";
import { renderMarkdown, MARKDOWN_MAX } from "./markdown";
import { isoTime, pretty, type MessageRow } from "./util";

/** Characters shown before "Show more". */
export const TEXT_LIMIT = 20_000;

export function LongText({ text, markdown = false, limit = TEXT_LIMIT }: { text: string; markdown?: boolean; limit?: number }) {
  const [shown, setShown] = useState(limit);
  const cut = text.length > shown;
  const visible = cut ? text.slice(0, shown) : text;
  return (
    <>
      {markdown && visible.length <= MARKDOWN_MAX ? renderMarkdown(visible) : <pre class="text">{visible}</pre>}
      {cut && (
        <div class="more">
          <span>
            Showing {visible.length.toLocaleString()} of {text.length.toLocaleString()} characters.
          </span>
          <button type="button" onClick={() => setShown(shown * 8)}>
            Show more
          </button>
          <button type="button" onClick={() => setShown(text.length)}>
            Show all
          </button>
        </div>
      )}
    </>
  );
}

function Fold({ summary, children, open = false, cls = "" }: { summary: ComponentChildren; children: ComponentChildren; open?: boolean; cls?: string }) {
  return (
    <details class={`fold ${cls}`} open={open}>
      <summary>{summary}</summary>
      <div class="fold-body">{children}</div>
    </details>
  );
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : v == null ? null : pretty(v);
}

function lines(text: string | null): number {
  if (!text) return 0;
  let n = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function ExitCode({ code }: { code: unknown }) {
  if (typeof code !== "number") return <span class="badge muted">no exit code</span>;
  return <span class={`badge ${code === 0 ? "ok" : "bad"}`}>exit {code}</span>;
}

function Output({ text, label = "Output" }: { text: string | null; label?: string }) {
  if (!text) return null;
  const n = lines(text);
  return (
    <Fold summary={`${label} (${n} line${n === 1 ? "" : "s"}${text.endsWith("…") ? ", excerpt" : ""})`} open={n <= 6 && text.length < 600}>
      <LongText text={text} />
    </Fold>
  );
}

function Cmd({ row }: { row: MessageRow }) {
  const d = row.data ?? {};
  const ms = typeof d.durationMs === "number" ? d.durationMs : null;
  return (
    <>
      <div class="cmd-head">
        <ExitCode code={d.exitCode} />
        {ms !== null && <span class="muted small">{ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}</span>}
      </div>
      <pre class="code cmdline">
        <code>{str(d.command) ?? row.text ?? ""}</code>
      </pre>
      <Output text={str(d.output)} />
    </>
  );
}

const CHANGE_MARK: Record<string, string> = { add: "A", update: "M", delete: "D" };

/** A unified diff, coloured line by line (text only). */
export function Diff({ text }: { text: string }) {
  const shown = text.length > TEXT_LIMIT * 5 ? text.slice(0, TEXT_LIMIT * 5) : text;
  return (
    <pre class="diff">
      {shown.split("\n").map((line, i) => (
        <span key={i} class={line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : line.startsWith("@@") ? "hunk" : undefined}>
          {line + "\n"}
        </span>
      ))}
      {shown !== text && <span class="muted">… ({text.length - shown.length} more characters)</span>}
    </pre>
  );
}

function looksLikeDiff(text: string): boolean {
  return /^(---|\+\+\+|@@|diff --git)/m.test(text) && /^[+-]/m.test(text);
}

function FileChange({ row }: { row: MessageRow }) {
  const d = row.data ?? {};
  const changes = Array.isArray(d.changes) ? (d.changes as Array<Record<string, unknown>>) : [];
  const output = str(d.output);
  return (
    <>
      <div class="diff-files">
        {changes.map((c, i) => {
          const kind = String(c.kind ?? "update");
          const patch = str(c.diff ?? c.unifiedDiff ?? c.unified_diff ?? c.patch);
          return (
            <div key={i} class="diff-file">
              <div class={`diff-path ${kind}`}>
                <span class={`badge ${kind}`}>{CHANGE_MARK[kind] ?? kind}</span> <code>{String(c.path ?? "")}</code>
              </div>
              {patch && <Diff text={patch} />}
            </div>
          );
        })}
        {!changes.length && row.text && <pre class="text">{row.text}</pre>}
      </div>
      {d.exitCode !== undefined && d.exitCode !== null && <ExitCode code={d.exitCode} />}
      {output && (looksLikeDiff(output) ? <Diff text={output} /> : <Output text={output} />)}
    </>
  );
}

const TODO_MARK: Record<string, string> = { completed: "☑", in_progress: "◐", pending: "☐" };

function Todo({ row }: { row: MessageRow }) {
  const items = Array.isArray(row.data?.items) ? (row.data!.items as Array<Record<string, unknown>>) : [];
  if (!items.length) return <pre class="text">{row.text ?? ""}</pre>;
  return (
    <ul class="todo">
      {items.map((it, i) => {
        const status = String(it.status ?? "pending");
        return (
          <li key={i} class={`todo-${status}`}>
            <span class="todo-mark" aria-label={status}>
              {TODO_MARK[status] ?? "•"}
            </span>{" "}
            {String(it.text ?? "")}
          </li>
        );
      })}
    </ul>
  );
}

function Mcp({ row }: { row: MessageRow }) {
  const d = row.data ?? {};
  return (
    <>
      <div>
        <span class="badge">MCP</span> <code>{`${String(d.server ?? "?")}.${String(d.tool ?? "?")}`}</code>
      </div>
      {d.arguments !== undefined && d.arguments !== null && (
        <Fold summary="Arguments">
          <LongText text={pretty(d.arguments)} />
        </Fold>
      )}
      {d.result !== undefined && d.result !== null && (
        <Fold summary="Result">
          <LongText text={pretty(d.result)} />
        </Fold>
      )}
    </>
  );
}

function Tool({ row }: { row: MessageRow }) {
  const d = row.data ?? {};
  const sub = typeof d.subagentThreadId === "string" ? d.subagentThreadId : null;
  return (
    <>
      <div>
        <span class="badge">tool</span> <code>{String(d.name ?? row.text ?? "?")}</code>
        {d.isError === true && <span class="badge bad">error</span>}
        {sub && (
          <a class="sublink" href={`/t/${encodeURIComponent(sub)}`}>
            subagent transcript →
          </a>
        )}
      </div>
      {d.arguments !== undefined && d.arguments !== null && (
        <Fold summary="Arguments">
          <LongText text={pretty(d.arguments)} />
        </Fold>
      )}
      <Output text={str(d.output)} />
    </>
  );
}

function Raw({ row, note }: { row: MessageRow; note: string }) {
  return (
    <>
      <div class="muted small">{note}</div>
      <LongText text={pretty(row)} />
    </>
  );
}

function body(row: MessageRow): ComponentChildren {
  const text = row.text ?? "";
  switch (row.kind) {
    case "message": {
      const images = Array.isArray(row.data?.images) ? (row.data!.images as unknown[]).length : 0;
      return (
        <>
          {row.role === "user" ? <LongText text={text} /> : <LongText text={text} markdown />}
          {images > 0 && <div class="muted small">{images} image{images > 1 ? "s" : ""} attached</div>}
        </>
      );
    }
    case "reason":
      return (
        <Fold summary={<span class="muted">Reasoning: {text.split("\n")[0].slice(0, 120)}</span>} cls="reason">
          <LongText text={text} markdown />
        </Fold>
      );
    case "cmd":
      return <Cmd row={row} />;
    case "file":
      return <FileChange row={row} />;
    case "search":
      return (
        <div>
          <span class="badge">web search</span> {str(row.data?.query) ?? text}
        </div>
      );
    case "mcp":
      return <Mcp row={row} />;
    case "todo":
      return <Todo row={row} />;
    case "tool":
      return <Tool row={row} />;
    case "error":
      return <div class="error-text"><LongText text={str(row.data?.message) ?? text} /></div>;
    case "usage":
      // One model response's tokens (docs/rows.md, "Token usage").
      return (
        <div class="muted usage-row">
          {Number(row.data?.totalTokens ?? 0).toLocaleString()} tokens
          {row.data?.model ? ` (${String(row.data.model)})` : ""}
        </div>
      );
    case "aborted":
      return <div class="muted">Turn interrupted{row.data?.reason ? ` (${String(row.data.reason)})` : ""}</div>;
    case "context":
      return (
        <Fold summary={<span class="muted">Context injected by the agent ({text.length.toLocaleString()} characters)</span>}>
          <LongText text={text} />
        </Fold>
      );
    case "compaction":
      return (
        <Fold summary={<span class="muted">Conversation compacted: summary</span>}>
          <LongText text={text} markdown />
        </Fold>
      );
    default:
      return <Raw row={row} note={`Unknown row kind "${row.kind}": shown as stored.`} />;
  }
}

const ROLE_LABEL: Record<string, string> = { user: "You", assistant: "Agent", tool: "Tool", system: "System" };

class RowBoundary extends Component<{ row: MessageRow }, { failed: string | null }> {
  state = { failed: null as string | null };
  componentDidCatch(err: unknown) {
    this.setState({ failed: String(err) });
  }
  render() {
    const row = this.props.row;
    if (this.state.failed) return <Raw row={row} note={`This row could not be rendered (${this.state.failed}): shown as stored.`} />;
    return body(row);
  }
}

/** One message of a transcript (rendered once: rows never change once stored). */
export class Row extends Component<{ row: MessageRow; target: boolean }> {
  shouldComponentUpdate(next: { row: MessageRow; target: boolean }) {
    return next.row !== this.props.row || next.target !== this.props.target;
  }
  render() {
    const { row, target } = this.props;
    return (
    <article id={`m-${row.key}`} class={`msg role-${row.role} kind-${row.kind}${target ? " target" : ""}`} data-seq={row.seq}>
      <header class="msg-head">
        <span class="who">{ROLE_LABEL[row.role] ?? row.role}</span>
        {row.kind !== "message" && <span class="kind">{row.kind}</span>}
        {row.ts ? <time title={isoTime(row.ts)}>{new Date(row.ts).toLocaleTimeString()}</time> : null}
      </header>
      <div class="msg-body">
        <RowBoundary row={row} />
      </div>
    </article>
    );
  }
}
