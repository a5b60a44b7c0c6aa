/**
 * `/status`: every actor (state, restarts, uptime, inbox, last error), the sessions tailer (watched
 * roots, files, rows, skips), the writer and Convex (outbox, lag, mode), the bridge; with small
 * live charts. Samples come from `status.watch` (the gateway samples every 2 s while someone
 * watches and keeps the last minutes), so the page opens with its recent history.
 */
import { useEffect, useState } from "preact/hooks";
import { bridge, type Json } from "../bridge";
import { rates, Spark } from "../chart";
import { useTitle } from "../hooks";
import { bytes, duration } from "../util";

interface Sample {
  t: number;
  supervisor: Json | null;
  tailer: Json | null;
  convex: Json | null;
  bridge: Json;
  errors: Record<string, string>;
}

const KEEP = 90;

function series(samples: Sample[], pick: (s: Sample) => number | null | undefined): Array<[number, number | null]> {
  return samples.map((s) => {
    const v = pick(s);
    return [s.t, typeof v === "number" ? v : null];
  });
}

function Actors({ sup }: { sup: Json }) {
  return (
    <div class="table-wrap">
      <table class="actors">
        <thead>
          <tr>
            <th>actor</th>
            <th>state</th>
            <th>pid</th>
            <th>restarts</th>
            <th>uptime</th>
            <th>inbox</th>
            <th>last error</th>
          </tr>
        </thead>
        <tbody>
          {(sup.actors as Json[]).map((a) => (
            <tr key={a.name} data-actor={a.name}>
              <td>{a.name}</td>
              <td>
                <span class={`badge st-${a.state}`}>{a.state}</span>
                {a.retryAt > 0 && <span class="muted small"> retry {new Date(a.retryAt * 1000).toLocaleTimeString()}</span>}
              </td>
              <td>{a.pid ?? "–"}</td>
              <td>{a.restarts}</td>
              <td>{duration(a.uptime)}</td>
              <td>{a.inbox}</td>
              <td class="lasterr" title={a.lastError}>
                {a.lastError || <span class="muted">none</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Counts({ title, counts }: { title: string; counts: Record<string, number> | undefined }) {
  const entries = Object.entries(counts ?? {}).filter(([, n]) => n);
  return (
    <p class="small">
      {title}: {entries.length ? entries.map(([k, n]) => `${k} ${n}`).join(", ") : <span class="muted">none</span>}
    </p>
  );
}

export function StatusPage() {
  useTitle("Status");
  const [samples, setSamples] = useState<Sample[]>([]);
  const [progress, setProgress] = useState<Json | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const offs = [
      bridge.on("status.sample", (s: Sample) => setSamples((old) => [...old.slice(-(KEEP - 1)), s])),
      bridge.on("backfill.progress", (p: Json) => setProgress(p)),
      bridge.onOpen(() => {
        bridge.call("status.watch", { subscribe: true }).then(
          (r) => setSamples(r.samples),
          (e) => setError(String(e.message ?? e)),
        );
      }),
    ];
    return () => {
      offs.forEach((f) => f());
      if (bridge.state === "open") void bridge.call("status.watch", { subscribe: false }).catch(() => undefined);
    };
  }, []);
  const last = samples[samples.length - 1];
  if (!last) return <section class="page status-page">{error ? <div class="error-text">{error}</div> : <p class="muted">Sampling…</p>}</section>;
  const sup = last.supervisor;
  const tail = last.tailer;
  const cx = last.convex;
  const backfill = progress ?? tail?.backfill;
  const writerInbox = (s: Sample) => (s.supervisor?.actors as Json[] | undefined)?.find((a) => a.name === "convex_writer")?.inbox;
  return (
    <section class="page status-page" data-samples={samples.length}>
      <h1>Status</h1>
      {Object.entries(last.errors).map(([part, why]) => (
        <div key={part} class="error-text">
          {part}: {why}
        </div>
      ))}
      <div class="charts">
        <Spark label="tailer rows/s" values={rates(series(samples, (s) => s.tailer?.rows))} />
        <Spark label="tailer read" values={rates(series(samples, (s) => s.tailer?.bytes)).map((v) => (v === null ? null : v / 1024))} unit=" KB/s" />
        <Spark label="writer inbox" values={series(samples, writerInbox).map((x) => x[1])} />
        <Spark label="outbox pending" values={series(samples, (s) => s.convex?.outbox?.pending).map((x) => x[1])} />
        <Spark label="Convex lag" values={series(samples, (s) => s.convex?.lag?.seconds).map((x) => x[1])} unit=" s" digits={1} />
        <Spark label="bridge events/s" values={rates(series(samples, (s) => s.bridge?.counters?.events))} digits={1} />
      </div>
      <h2>Actors</h2>
      {sup ? (
        <>
          <Actors sup={sup} />
          <p class="muted small">
            supervisor pid {sup.pid}, up {duration(sup.uptime)}, {sup.home}
            {sup.badFrames ? `, ${sup.badFrames} bad frames` : ""}
          </p>
        </>
      ) : (
        <p class="muted">The supervisor did not answer.</p>
      )}
      <h2>Sessions tailer</h2>
      {tail ? (
        <>
          <p class="small">
            {tail.watching ? "watching" : <b>not watching</b>} · {tail.files} files ({tail.openFiles} open) · {tail.rows.toLocaleString()} rows in{" "}
            {tail.batches.toLocaleString()} batches · {bytes(tail.bytes)} read
            {tail.watchFailures ? ` · ${tail.watchFailures} folders not watched (rescans cover them)` : ""}
          </p>
          <ul class="roots small">
            {(tail.roots as string[]).map((r) => (
              <li key={r}>
                <code>{r}</code> {(tail.watched as string[]).includes(r) ? <span class="badge ok">watched</span> : <span class="badge muted">not watched</span>}
              </li>
            ))}
          </ul>
          <Counts title="lines skipped" counts={tail.errors} />
          <Counts title="files skipped" counts={tail.skipped} />
          {backfill && (backfill.running || backfill.files_total > 0) && (
            <p class="small">
              Backfill {backfill.running ? "running" : "done"}: {backfill.files_done}/{backfill.files_total} files, {bytes(backfill.bytes_done)} of {bytes(backfill.bytes_total)},{" "}
              {backfill.rows} rows
              <progress max={backfill.bytes_total || 1} value={backfill.bytes_done} />
            </p>
          )}
        </>
      ) : (
        <p class="muted">The tailer did not answer.</p>
      )}
      <h2>Writer and Convex</h2>
      {cx ? (
        <p class="small">
          mode <b>{cx.mode}</b>
          {cx.state ? ` · ${cx.state}` : ""} · outbox {cx.outbox.pending.toLocaleString()} pending, {cx.outbox.quarantined} quarantined
          {cx.lag ? ` · lag ${cx.lag.rows} rows / ${cx.lag.seconds.toFixed(1)} s` : ""}
          {cx.ratePerSecond !== undefined ? ` · ${cx.ratePerSecond.toFixed(1)} rows/s` : ""}
          {cx.detail ? <span class="muted"> · {cx.detail}</span> : null}
          {cx.lastError ? <span class="error-text"> · {cx.lastError}</span> : null}
          {cx.backend ? <span class="muted"> · backend {cx.backend.state}</span> : null}
        </p>
      ) : (
        <p class="muted">The writer did not answer.</p>
      )}
      <h2>Bridge</h2>
      <p class="small">
        {last.bridge.clients} clients · up {duration(last.bridge.uptimeMs / 1000)} · {last.bridge.counters.logins ?? 0} sign-ins ·{" "}
        {last.bridge.counters.authFailures} refused · {last.bridge.counters.slowDisconnects} slow clients dropped
      </p>
      <p class="muted small">Updated {new Date(last.t).toLocaleTimeString()}, every 2 s while this page is open.</p>
    </section>
  );
}
