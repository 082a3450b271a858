/**
 * Benchmark rows: stevedore's figure next to its peer's from the same run,
 * and the ratio between them expressed as stevedore's advantage (above 1:
 * stevedore is better, whichever way the unit points), checked against the
 * target. Some rows also carry an absolute limit (seconds, MiB).
 */

export interface Row {
  bench: string;
  name: string;
  unit: string;
  /** Which way is better for this unit. */
  better: "higher" | "lower";
  stevedore: number | null;
  peer: number | null;
  peerName: string;
  /** The least advantage wanted (1 = as good as the peer). */
  target?: number;
  /** An absolute bound on stevedore's figure, in `unit` (at most when lower is better, at least otherwise). */
  limit?: number;
  note?: string;
  error?: string;
}

export interface RowResult extends Row {
  /** stevedore's advantage: stevedore/peer when higher is better, peer/stevedore otherwise. */
  ratio: number | null;
  /** Whether the target and the limit are met (null: nothing to check or nothing measured). */
  ok: boolean | null;
}

export function evaluate(row: Row): RowResult {
  const { stevedore: s, peer: p } = row;
  const measured = s !== null && Number.isFinite(s);
  let ratio: number | null = null;
  if (measured && p !== null && Number.isFinite(p) && s > 0 && p > 0) ratio = row.better === "higher" ? s / p : p / s;
  let ok: boolean | null = null;
  if (row.target !== undefined && ratio !== null) ok = ratio >= row.target;
  if (row.limit !== undefined && measured) {
    const within = row.better === "lower" ? s <= row.limit : s >= row.limit;
    ok = (ok ?? true) && within;
  }
  if (row.error) ok = false;
  return { ...row, ratio, ok };
}

function number(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return "—";
  const digits = Math.abs(value) >= 100 || unit === "req/s" ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

/** The table printed at the end of a run. */
export function formatTable(rows: RowResult[]): string {
  const header = ["bench", "row", "unit", "stevedore", "peer", "peer value", "×", "target", ""];
  const lines = rows.map((r) => {
    const goal: string[] = [];
    if (r.target !== undefined) goal.push(`≥${r.target}×`);
    if (r.limit !== undefined) goal.push(`${r.better === "lower" ? "≤" : "≥"}${r.limit} ${r.unit}`);
    return [
      r.bench,
      r.name,
      r.unit,
      number(r.stevedore, r.unit),
      r.peerName,
      number(r.peer, r.unit),
      r.ratio === null ? "—" : r.ratio.toFixed(2),
      goal.join(", "),
      r.error ? `ERROR: ${r.error}` : r.ok === null ? "" : r.ok ? "ok" : "MISS",
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (i === 8 ? 0 : l[i]!.length))));
  const right = new Set([3, 5, 6]);
  const render = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  return [
    render(header),
    render(widths.map((w) => "-".repeat(w))),
    ...lines.map(render),
    ...(notes.length ? ["", "notes:", ...notes] : []),
    "",
    "× = stevedore's advantage over the peer measured in the same run (above 1: stevedore better).",
  ].join("\n");
}
