/**
 * A seeded PRNG (mulberry32) for tests that must replay: the same seed
 * gives the same choices, so a failing round is reproduced by its seed.
 *
 *   const rng = seededRandom(42);
 *   rng.int(10); rng.pick(["a", "b"]); rng.between(50, 500);
 */
export interface SeededRandom {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  pick<T>(items: readonly T[]): T;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array<ArrayBuffer>;
}

export function seededRandom(seed: number): SeededRandom {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    pick: <T>(items: readonly T[]) => items[int(items.length)] as T,
    bytes(n) {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = int(256);
      return out;
    },
  };
}

/** The seed a test runs with: the environment variable when set, else the default. */
export function testSeed(variable: string, fallback: number): number {
  const value = process.env[variable];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${variable} must be an integer, not ${JSON.stringify(value)}`);
  return n;
}

/** The seed of the fuzz tests: FUZZ_SEED=N replays the run a failure names. */
export function fuzzSeed(): number {
  return testSeed("FUZZ_SEED", 20240611);
}
