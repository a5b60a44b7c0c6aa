/** A tiny inline SVG line chart (no library): the last values of one series, with its latest value. */

export function Spark({ label, values, unit = "", digits = 0 }: { label: string; values: Array<number | null>; unit?: string; digits?: number }) {
  const w = 160;
  const h = 36;
  const nums = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const max = Math.max(1e-9, ...nums);
  const min = Math.min(0, ...nums);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const pts = values
    .map((v, i) => (typeof v === "number" && Number.isFinite(v) ? `${(i * step).toFixed(1)},${(h - 2 - ((v - min) / (max - min || 1)) * (h - 4)).toFixed(1)}` : null))
    .filter(Boolean)
    .join(" ");
  const last = nums.length ? nums[nums.length - 1] : null;
  return (
    <figure class="spark">
      <figcaption>
        <span>{label}</span>
        <b>{last === null ? "–" : `${last.toFixed(digits)}${unit}`}</b>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={`${label} over the last minutes`}>
        <polyline points={pts} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
    </figure>
  );
}

/** Per-second rates from a cumulative counter's samples ([t ms, value]). */
export function rates(samples: Array<[number, number | null]>): Array<number | null> {
  const out: Array<number | null> = [];
  for (let i = 1; i < samples.length; i++) {
    const [t0, a] = samples[i - 1];
    const [t1, b] = samples[i];
    out.push(a === null || b === null || t1 <= t0 || b < a ? null : ((b - a) * 1000) / (t1 - t0));
  }
  return out;
}
