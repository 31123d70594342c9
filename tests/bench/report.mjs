// What every desktop-app benchmark figure prints: one line with the value, the goal, whether it is
// met, the baseline measured in the same run and the ratio. Shared by tests/bench/app-bench.mjs
// and ui/bench/render.mjs.

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmt(value, unit, digits) {
  if (value === undefined || value === null || Number.isNaN(value)) return "n/a";
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return `${value.toFixed(d)} ${unit}`;
}

/**
 * Prints `[n] what: value (detail) | goal ≤ G: met | baseline (what): B | ratio R×`.
 * `figure`: {n, what, value, unit, detail?, goal, baseline, baselineWhat, note?}; the goal is an
 * upper bound in the same unit as the value.
 */
export function report(figure) {
  const { n, what, value, unit, detail, goal, baseline, baselineWhat, note } = figure;
  const met = value === undefined || Number.isNaN(value) ? "UNKNOWN" : value <= goal ? "met" : "NOT met";
  const ratio = baseline > 0 && Number.isFinite(value) ? `${(value / baseline).toFixed(2)}×` : "n/a";
  const parts = [
    `[${n}] ${what}: ${fmt(value, unit)}${detail ? ` (${detail})` : ""}`,
    `goal ≤ ${fmt(goal, unit)}: ${met}`,
    `baseline (${baselineWhat}): ${fmt(baseline, unit)}`,
    `ratio ${ratio}`,
  ];
  console.log(`${parts.join(" | ")}${note ? `\n      ${note}` : ""}`);
  return met === "met";
}
