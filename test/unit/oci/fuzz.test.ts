/**
 * Fuzzing parseManifest with mutated manifests and random JSON (seeded;
 * FUZZ_SEED overrides): only OciError MANIFEST_INVALID escapes, and what is
 * accepted has the shape its kind promises.
 */
import { expect, test } from "bun:test";
import { digestOf } from "../../../src/digest/index.ts";
import { manifestReferences, MediaType, OciError, parseManifest } from "../../../src/oci/index.ts";
import { fuzzSeed, seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";

const SEED = fuzzSeed();

const TYPES = [...Object.values(MediaType), "application/json", "", "text/plain; charset=utf-8"];
const descriptor = (seed: string) => ({ mediaType: MediaType.ociLayerGzip, digest: digestOf(seed), size: 42 });
const SEEDS: object[] = [
  { schemaVersion: 2, mediaType: MediaType.ociManifest, config: descriptor("c"), layers: [descriptor("l1"), descriptor("l2")] },
  { schemaVersion: 2, config: descriptor("c"), layers: [], subject: descriptor("s"), annotations: { a: "b" } },
  { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...descriptor("m"), platform: { os: "linux", architecture: "arm64", variant: "v8" } }] },
  { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [] },
  { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: descriptor("c"), layers: [descriptor("l")] },
  { schemaVersion: 1, name: "a", tag: "b", fsLayers: [] },
];
const VALUES: unknown[] = [null, true, 0, -1, 2, 1.5, 2 ** 64, "", "x", "sha256:abc", [], {}, [1, [2, [3]]], { __proto__: { a: 1 } }, MediaType.ociIndex];

function randomValue(rng: SeededRandom, depth = 0): unknown {
  if (depth > 3 || rng.int(3) === 0) return rng.pick(VALUES);
  if (rng.int(2) === 0) return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
  const keys = ["schemaVersion", "mediaType", "config", "layers", "manifests", "digest", "size", "subject", "annotations", "platform", "__proto__", "constructor"];
  return Object.fromEntries(Array.from({ length: rng.int(5) }, () => [rng.pick(keys), randomValue(rng, depth + 1)]));
}

/** Replace one value somewhere in the tree. */
function mutateJson(rng: SeededRandom, value: unknown): unknown {
  if (value === null || typeof value !== "object" || rng.int(4) === 0) return randomValue(rng);
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as never) : { ...value };
  const keys = Object.keys(copy);
  if (keys.length === 0 || rng.int(6) === 0) copy[rng.pick(["mediaType", "x", "size", "0"])] = randomValue(rng);
  else {
    const key = rng.pick(keys);
    if (rng.int(5) === 0) delete copy[key];
    else copy[key] = mutateJson(rng, copy[key]);
  }
  return copy;
}

function mutateBytes(rng: SeededRandom, bytes: Uint8Array): Uint8Array {
  const out = [...bytes];
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(out.length + 1);
    const op = rng.int(3);
    if (op === 0) out.splice(at, 1);
    else if (op === 1) out.splice(at, 0, rng.int(256));
    else out[at] = rng.pick([0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2c, 0x5c, 0x00, 0xff, 0xc3, 0x30]);
  }
  return new Uint8Array(out);
}

test("parseManifest fuzz", () => {
  const rng = seededRandom(SEED);
  const deadline = performance.now() + 400;
  let count = 0;
  let accepted = 0;
  while (count <= 500 || performance.now() < deadline) {  // a minimum count, so load cannot make it a no-op
    const seed = rng.pick(SEEDS);
    let bytes: Uint8Array;
    const shape = rng.int(4);
    if (shape === 0) bytes = new TextEncoder().encode(JSON.stringify(randomValue(rng)) ?? "");
    else if (shape === 1) bytes = mutateBytes(rng, new TextEncoder().encode(JSON.stringify(seed)));
    else {
      let value: unknown = seed;
      for (let n = 1 + rng.int(3); n > 0; n--) value = mutateJson(rng, value);
      bytes = new TextEncoder().encode(JSON.stringify(value) ?? "null");
    }
    const declared = rng.int(2) === 0 ? rng.pick(TYPES) : undefined;
    try {
      const parsed = parseManifest(bytes, declared);
      const refs = manifestReferences(parsed);
      if (parsed.kind === "index") expect(refs.manifests).toBe(parsed.index.manifests);
      else expect(refs.blobs[0]).toBe(parsed.manifest.config);
      accepted++;
    } catch (error) {
      if (!(error instanceof OciError) || error.code !== "MANIFEST_INVALID") {
        throw new Error(`#${count} (FUZZ_SEED=${SEED}) ${new TextDecoder().decode(bytes).slice(0, 200)}: ${String(error)}`);
      }
    }
    count++;
  }
  expect(count).toBeGreaterThan(500);
  expect(accepted).toBeGreaterThan(10);
});

test("deeply nested JSON is refused, not a crash", () => {
  for (const depth of [10_000, 100_000, 1_000_000]) {
    const bytes = new TextEncoder().encode(`{"schemaVersion":2,"config":${"[".repeat(depth)}${"]".repeat(depth)}}`);
    expect(() => parseManifest(bytes)).toThrow(OciError);
  }
});
