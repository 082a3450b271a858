/**
 * Measuring two peers on a shared, noisy machine: each trial runs both,
 * in alternating order (A B, B A, ...), and the best figure of each counts
 * (the fewest seconds, the most requests). Interference from other work
 * only ever makes a figure worse, so the best of a few is the closest to
 * what the program can do, and alternating keeps either side from always
 * inheriting the other's dirty page cache.
 */

export interface Measured<K extends string> {
  values: Partial<Record<K, number>>;
  /** Every figure, per peer, in trial order. */
  all: Partial<Record<K, number[]>>;
  error?: string;
}

export async function alternate<K extends string>(
  kinds: readonly K[],
  trials: number,
  better: "higher" | "lower",
  work: (kind: K, trial: number) => Promise<number>,
): Promise<Measured<K>> {
  const all: Partial<Record<K, number[]>> = {};
  const errors = new Map<K, string>();
  for (let trial = 0; trial < trials; trial++) {
    const order = trial % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      if (errors.has(kind)) continue;
      try {
        const figure = await work(kind, trial);
        (all[kind] ??= []).push(figure);
      } catch (error) {
        errors.set(kind, (error as Error).message.split("\n")[0]!);
      }
    }
  }
  const values: Partial<Record<K, number>> = {};
  for (const kind of kinds) {
    const figures = all[kind];
    if (figures?.length) values[kind] = better === "higher" ? Math.max(...figures) : Math.min(...figures);
  }
  const error = [...errors].map(([kind, message]) => `${kind}: ${message}`).join("; ");
  return { values, all, ...(error ? { error } : {}) };
}

/** `3.1, 2.9 s` — every figure of a peer, for a note. */
export function figures(values: number[] | undefined, unit: string, digits = 2): string {
  return values?.length ? `${values.map((v) => v.toFixed(digits)).join(", ")} ${unit}` : "—";
}
