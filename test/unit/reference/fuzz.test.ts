/**
 * Fuzzing the reference parsers: random and mutated strings, and references
 * generated from the grammar. Seeded and deterministic (FUZZ_SEED overrides
 * the seed); each part stops at its time budget. Properties:
 * - only ReferenceError ever escapes (digest faults become ReferenceError too);
 * - no input, up to 100k characters, takes long (no catastrophic backtracking);
 * - what is accepted prints to a string that parses back to the same reference.
 */
import { describe, expect, test } from "bun:test";
import {
  DigestReference,
  parseAnyReference,
  parseCanonicalReference,
  parseName,
  parseNormalizedReference,
  parseReference,
  parseTag,
  Reference,
  ReferenceError,
  TagSpec,
} from "../../../src/reference/index.ts";
import { fuzzSeed, seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";

const SEED = fuzzSeed();
const BUDGET_MS = 350;
/**
 * All parsers on one 100k-character input take about half a second (each
 * pattern runs in linear time; the engine leaves its JIT past ~40k
 * characters). Catastrophic backtracking would take minutes or more.
 */
const SLOW_MS = 3000;

const ALPHABET = [..."abcz019AZ._-/:@[]%+ ~", "__", "--", "..", "://", "sha256:", "é", "\u0000", "\n", "\u212a", "İ"];
const SEEDS = [
  "busybox",
  "docker.io/library/busybox:1.36",
  "localhost:5000/a/b:tag",
  "[2001:db8::1]:5000/repo:tag@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "example.com/a__b/c--d.e_f:v1.2-rc_3",
  "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  "Foo/bar@sha512:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
  "app@sha256+b64u:0123456789abcdef0123456789abcdef",
];

function randomString(rng: SeededRandom, length: number): string {
  let s = "";
  while (s.length < length) s += rng.pick(ALPHABET);
  return s;
}

function mutate(rng: SeededRandom, input: string): string {
  let s = input;
  for (let i = 1 + rng.int(4); i > 0; i--) {
    const at = rng.int(s.length + 1);
    switch (rng.int(5)) {
      case 0:
        s = s.slice(0, at) + rng.pick(ALPHABET) + s.slice(at);
        break;
      case 1:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(3));
        break;
      case 2:
        s = s.slice(0, at) + rng.pick(ALPHABET) + s.slice(at + 1);
        break;
      case 3:
        s = s.slice(0, at) + s.slice(at, at + 1 + rng.int(8)).repeat(1 + rng.int(40)) + s.slice(at);
        break;
      default:
        s = s.toUpperCase() === s ? s.toLowerCase() : s.slice(0, at) + s.slice(at).toUpperCase();
    }
  }
  return s;
}

/** Inputs shaped to make a backtracking regex engine work hard. */
function longInput(rng: SeededRandom): string {
  const unit = rng.pick(["a/", "a.", "a-", "a_", "a__", "1.", "a-a.", "A/", "a:", "[:", "a@", "a+", "ab", "a.a-a_a__a/"]);
  const tail = rng.pick(["!", "", "/", ":", "@", "-", "A", ":tag", "@sha256:abc"]);
  return unit.repeat(Math.ceil((10_000 + rng.int(90_000)) / unit.length)).slice(0, 100_000 - tail.length) + tail;
}

function expectTyped(error: unknown): void {
  if (error instanceof ReferenceError) return;
  throw new Error(`untyped exception: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
}

function attempt<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (error) {
    expectTyped(error);
    return undefined;
  }
}

/** Run every parser on one input and check the properties. */
function exercise(input: string): void {
  const started = performance.now();
  const normalized = attempt(() => parseNormalizedReference(input));
  if (normalized) {
    const again = parseNormalizedReference(normalized.toString());
    if (!again.equals(normalized)) throw new Error(`round trip: ${JSON.stringify(input)} -> ${again}`);
    // The familiar form reads back the same unless, as in docker, a docker.io
    // path starts with what looks like a domain (docker.io/a.b/c -> a.b/c).
    const first = normalized.path.split("/")[0] ?? "";
    const looksLikeDomain = /[.:]/.test(first) || first === "localhost";
    if (normalized.domain !== "docker.io" || !looksLikeDomain) {
      const familiar = parseNormalizedReference(normalized.familiarString());
      if (!familiar.equals(normalized)) throw new Error(`familiar round trip: ${JSON.stringify(input)}`);
    }
    expect(parseCanonicalReference(normalized.toString()).equals(normalized)).toBe(true);
  }
  const raw = attempt(() => parseReference(input));
  if (raw) {
    if (raw.toString() !== input) throw new Error(`raw print: ${JSON.stringify(input)} -> ${raw}`);
    if (!parseReference(raw.toString()).equals(raw)) throw new Error(`raw round trip: ${JSON.stringify(input)}`);
  }
  const any = attempt(() => parseAnyReference(input));
  if (any instanceof DigestReference) expect(parseAnyReference(any.toString())).toEqual(any);
  else if (any instanceof Reference && normalized) expect(any.equals(normalized)).toBe(true);
  attempt(() => parseName(input));
  attempt(() => parseTag(input));
  attempt(() => parseCanonicalReference(input));
  const spec = TagSpec.split(input);
  spec.isValid();
  const took = performance.now() - started;
  if (took > SLOW_MS) throw new Error(`slow input (${took.toFixed(0)} ms, ${input.length} chars): ${JSON.stringify(input.slice(0, 80))}`);
}

/**
 * Exercise inputs for `budget` ms, and at least `minimum` of them whatever
 * the time: a loaded machine must not turn the test into a no-op.
 */
function run(label: string, generate: (rng: SeededRandom) => string, budget = BUDGET_MS, minimum = 100): number {
  const rng = seededRandom(SEED ^ label.length);
  const deadline = performance.now() + budget;
  let count = 0;
  while (count < minimum || performance.now() < deadline) {
    const input = generate(rng);
    try {
      exercise(input);
    } catch (error) {
      throw new Error(`${label} #${count} (FUZZ_SEED=${SEED}): ${(error as Error).message}`);
    }
    count++;
  }
  return count;
}

describe("reference fuzz", () => {
  test("random strings", () => {
    expect(run("random", (rng) => randomString(rng, rng.int(rng.next() < 0.9 ? 40 : 400)))).toBeGreaterThanOrEqual(100);
  });
  test("mutated references", () => {
    expect(run("mutated", (rng) => mutate(rng, rng.pick(SEEDS)))).toBeGreaterThanOrEqual(100);
  });
  test("long inputs up to 100k characters", () => {
    expect(run("long", longInput, 1000, 5)).toBeGreaterThanOrEqual(5);
  });
});

describe("references generated from the grammar", () => {
  const SEPARATORS = ["_", "__", ".", "-", "--", "---"];
  function alnum(rng: SeededRandom, chars: string): string {
    let s = "";
    for (let n = 1 + rng.int(6); n > 0; n--) s += chars[rng.int(chars.length)];
    return s;
  }
  function component(rng: SeededRandom): string {
    let s = alnum(rng, "abcxyz0189");
    for (let n = rng.int(3); n > 0; n--) s += rng.pick(SEPARATORS) + alnum(rng, "abcxyz0189");
    return s;
  }
  function domain(rng: SeededRandom): string {
    const label = () => {
      const inner = rng.int(3) === 0 ? "-".repeat(1 + rng.int(2)) : "";
      return alnum(rng, "abcXYZ019") + (inner ? inner + alnum(rng, "abc019") : "");
    };
    let host: string;
    if (rng.int(5) === 0) host = `[${rng.pick(["::1", "2001:db8::1", "fe80::a:B:c", "1:2:3:4:5:6:7:8"])}]`;
    else {
      host = label();
      for (let n = rng.int(3); n > 0; n--) host += `.${label()}`;
    }
    return rng.int(2) === 0 ? `${host}:${rng.int(70000)}` : host;
  }
  function tag(rng: SeededRandom): string {
    const word = "abcXYZ019_";
    let s = word[rng.int(word.length)] as string;
    for (let n = rng.int(rng.next() < 0.1 ? 128 : 20); n > 0; n--) s += "abcXYZ019_.-"[rng.int(12)];
    return s;
  }

  test("parse to exactly their parts and print back", () => {
    const rng = seededRandom(SEED);
    const deadline = performance.now() + BUDGET_MS;
    let accepted = 0;
    let tooLong = 0;
    while (performance.now() < deadline) {
      const name = [rng.int(2) === 0 ? domain(rng) : undefined, component(rng)]
        .concat(Array.from({ length: rng.int(rng.next() < 0.05 ? 60 : 3) }, () => component(rng)))
        .filter((s): s is string => s !== undefined)
        .join("/");
      const t = rng.int(2) === 0 ? tag(rng) : undefined;
      const d = rng.int(3) === 0 ? `sha256:${"0123456789abcdef".repeat(4)}` : undefined;
      const input = name + (t ? `:${t}` : "") + (d ? `@${d}` : "");
      const result = attempt(() => parseReference(input));
      if (name.length > 255) {
        expect(() => parseReference(input)).toThrow("repository name must not be more than 255 characters");
        tooLong++;
        continue;
      }
      if (!result) throw new Error(`refused a grammatical reference: ${JSON.stringify(input)} (FUZZ_SEED=${SEED})`);
      expect([result.name, result.tag, result.digest as string | undefined, result.toString()]).toEqual([name, t, d, input]);
      exercise(input);
      accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
    expect(tooLong).toBeGreaterThan(0);
  });
});
