/**
 * Fuzzing parseDigest with random and mutated strings (seeded; FUZZ_SEED
 * overrides): only DigestError escapes, long inputs are cheap, and what is
 * accepted obeys the rules stated independently here.
 */
import { expect, test } from "bun:test";
import { DigestError, isVerifiable, parseDigest } from "../../../src/digest/index.ts";
import { fuzzSeed, seededRandom } from "../../helpers/seeded-random.ts";

const SEED = fuzzSeed();

const PIECES = ["sha256", "sha512", "sha384", "md5", "SHA", "b64u", ":", "+", ".", "_", "-", "0", "9", "a", "f", "F", "g", "z", "=", " ", "\u0000", "é"];
const HEXES = ["0123456789abcdef", "ABCDEF0123456789", "ffffffffffffffff"];

/** The rules, written out again without the module's patterns. */
function expectedValid(s: string): boolean {
  const colon = s.indexOf(":");
  if (colon < 0 || s.length > 1024) return false;
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  if (!/^[a-z][a-z0-9]*([-_+.][a-z][a-z0-9]*)*$/.test(algorithm)) return false;
  if (!/^[0-9a-fA-F]{32,}$/.test(hex)) return false;
  const length = { sha256: 64, sha384: 96, sha512: 128 }[algorithm];
  return length === undefined || (hex.length === length && hex === hex.toLowerCase());
}

test("parseDigest fuzz", () => {
  const rng = seededRandom(SEED);
  const deadline = performance.now() + 250;
  let count = 0;
  let accepted = 0;
  while (count <= 1000 || performance.now() < deadline) {  // a minimum count, so load cannot make it a no-op
    let s = "";
    const shape = rng.int(4);
    if (shape === 0) for (let n = rng.int(12); n > 0; n--) s += rng.pick(PIECES);
    else {
      s = `${rng.pick(["sha256", "sha384", "sha512", "md5", "a+b", "Sha256", "x.y_z-w"])}:`;
      for (let n = rng.int(12); n > 0; n--) s += rng.pick(HEXES);
      s = s.slice(0, s.indexOf(":") + 1 + rng.int(140));
      if (shape === 2) {
        const at = rng.int(s.length + 1);
        s = s.slice(0, at) + rng.pick(PIECES) + s.slice(at + rng.int(2));
      }
      if (shape === 3 && rng.int(20) === 0) s += "f".repeat(100_000 - s.length);
    }
    let ok: boolean;
    try {
      const digest = parseDigest(s);
      expect(parseDigest(digest.toString())).toBe(digest);
      expect(isVerifiable(digest)).toBe(/^sha(256|384|512):/.test(s));
      ok = true;
      accepted++;
    } catch (error) {
      if (!(error instanceof DigestError)) throw new Error(`untyped exception for ${JSON.stringify(s.slice(0, 80))} (FUZZ_SEED=${SEED})`);
      ok = false;
    }
    if (ok !== expectedValid(s)) throw new Error(`${JSON.stringify(s.slice(0, 160))}: parsed=${ok} (FUZZ_SEED=${SEED})`);
    count++;
  }
  expect(count).toBeGreaterThan(1000);
  expect(accepted).toBeGreaterThan(10);
});
