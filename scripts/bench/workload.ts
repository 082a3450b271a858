/**
 * What the benchmarks move: the standard generated release (shared base
 * layers, a multi-arch index, an artifact with a subject) written as an OCI
 * layout a layer at a time, and single random blobs for the large-blob rows.
 * Everything is cached under .bench/, keyed by its parameters and by the
 * generator's source, so a second run reuses it.
 *
 *   .bench/
 *     bundle-<label>-<key>/  an OCI layout (index.json: full references); label: quick or full
 *       done.json            what was generated (written last: a partial bundle has none)
 *     blob-<bytes>-<key>.bin random bytes; .json beside it: digest and size
 */
import { randomFillSync } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type Digest, DigestHasher, digestOf } from "../../src/digest/index.ts";
import { type ReleaseLayout, type ReleaseOptions, writeReleaseLayout } from "../../test/helpers/images.ts";

export const ROOT = resolve(import.meta.dir, "../..");
export const CACHE = join(ROOT, ".bench");
const GENERATOR = join(ROOT, "test/helpers/images.ts");

export interface Bundle extends ReleaseLayout {
  dir: string;
  options: ReleaseOptions;
}

export interface RandomBlob {
  path: string;
  digest: Digest;
  size: number;
}

/** A short key for a set of parameters and the code that turns them into bytes. */
async function keyOf(parameters: unknown, source?: string): Promise<string> {
  const code = source ? await readFile(source, "utf8") : "";
  return digestOf(JSON.stringify(parameters) + code).slice("sha256:".length, "sha256:".length + 12);
}

/**
 * The cached release layout for these options, generated on first use.
 * Bundles with the same label and other parameters are removed.
 */
export async function releaseBundle(label: string, options: ReleaseOptions, log: (line: string) => void): Promise<Bundle> {
  await mkdir(CACHE, { recursive: true });
  const key = await keyOf(options, GENERATOR);
  const dir = join(CACHE, `bundle-${label}-${key}`);
  const done = join(dir, "done.json");
  if (existsSync(done)) return { ...(JSON.parse(await readFile(done, "utf8")) as ReleaseLayout), dir, options };
  // A bundle from other parameters or an older generator is dead weight (gigabytes).
  for (const name of await readdir(CACHE)) {
    if (name.startsWith(`bundle-${label}-`)) await rm(join(CACHE, name), { recursive: true, force: true });
  }
  log(`generating the bundle (${JSON.stringify(options)}) into ${dir} ...`);
  const started = performance.now();
  const temp = `${dir}.tmp-${process.pid}`;
  const layout = await writeReleaseLayout(temp, options);
  await writeFile(join(temp, "done.json"), JSON.stringify(layout));
  await rename(temp, dir);
  log(`generated ${layout.images.length} images, ${layout.blobs} blobs, ${(layout.bytes / 2 ** 20).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return { ...layout, dir, options };
}

/** A cached file of `size` random bytes (not compressible, not a tar: a blob is opaque to a registry). */
export async function randomBlob(size: number, log: (line: string) => void): Promise<RandomBlob> {
  await mkdir(CACHE, { recursive: true });
  const key = await keyOf({ size, kind: "random-blob-v1" });
  const path = join(CACHE, `blob-${size}-${key}.bin`);
  const meta = `${path}.json`;
  if (existsSync(meta)) return { path, ...(JSON.parse(await readFile(meta, "utf8")) as { digest: Digest; size: number }) };
  log(`generating a ${(size / 2 ** 20).toFixed(0)} MiB random blob ...`);
  const temp = `${path}.tmp-${process.pid}`;
  const file = await open(temp, "w");
  const hasher = new DigestHasher();
  const chunk = new Uint8Array(4 * 2 ** 20);
  try {
    for (let left = size; left > 0; left -= chunk.byteLength) {
      const part = chunk.subarray(0, Math.min(chunk.byteLength, left));
      randomFillSync(part);
      hasher.update(part);
      await file.write(part);
    }
  } finally {
    await file.close();
  }
  await rename(temp, path);
  const digest = hasher.digest();
  await writeFile(meta, JSON.stringify({ digest, size }));
  return { path, digest, size };
}

/** Every blob file of a layout (manifests included), with its size. */
export async function layoutBlobFiles(dir: string): Promise<string[]> {
  const blobs = join(dir, "blobs", "sha256");
  return (await readdir(blobs)).sort().map((name) => join(blobs, name));
}

/** Read files once so that every measured run starts from the same (warm) page cache. */
export async function warm(paths: string[]): Promise<void> {
  for (const path of paths) {
    const reader = Bun.file(path).stream().getReader();
    while (!(await reader.read()).done);
  }
}
