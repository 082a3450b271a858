/**
 * kill -9 of `sync` and `bundle create` at seeded random moments, then the
 * same command again until it completes: the result equals an
 * uninterrupted run.
 *
 * - sync from a layout into a registry (`stevedore serve`) and into a
 *   store directory: the same tags on the same digests, every image pulls
 *   intact, the store checks sound;
 * - sync into an OCI layout directory: the same index, every blob sound,
 *   and no half-written file left in it;
 * - sync into an oci-archive: byte for byte the same file, nothing beside it;
 * - bundle create from a registry into a tar: byte for byte the same file,
 *   and nothing left beside it by the killed runs.
 *
 * STRESS_SYNC_ROUNDS (default 5 per destination) and STRESS_SEED replay a run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { digestOf } from "../../src/digest/index.ts";
import { verifyBundle } from "../../src/bundle/index.ts";
import { Store } from "../../src/store/index.ts";
import { syncImages } from "../../src/sync/index.ts";
import { openDestination, openSource } from "../../src/transports/index.ts";
import { type GeneratedManifest, generateRelease, writeOciLayout } from "../helpers/images.ts";
import { PushClient } from "../helpers/push-client.ts";
import { seededRandom, testSeed } from "../helpers/seeded-random.ts";
import { checkStore } from "../helpers/store-check.ts";
import { type RunningServe, startServe } from "../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const ROUNDS = testSeed("STRESS_SYNC_ROUNDS", 5);
const SEED = testSeed("STRESS_SEED", 6);

let work: string;
let source: string;
let release: GeneratedManifest[];
let upstream: RunningServe;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-crash-sync-"));
  release = await generateRelease({ seed: `crash-sync-${SEED}`, images: 6, layers: 2, layerSize: 1_200_000 });
  source = join(work, "source");
  await writeOciLayout(source, release);
  upstream = await startServe();
  const summary = await syncImages(await openSource(`oci:${source}`), await openDestination(upstream.host));
  if (summary.failures.length) throw new Error(`seeding the upstream: ${JSON.stringify(summary.failures)}`);
});
afterAll(async () => {
  await upstream?.stop();
  rmSync(work, { recursive: true, force: true });
});

interface Outcome {
  code: number | null;
  killed: boolean;
  ms: number;
}

/** Run the CLI; with `killAfterMs`, kill -9 it then (if still running). */
async function cli(args: string[], killAfterMs?: number): Promise<Outcome & { stderr: string }> {
  const started = performance.now();
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
  const stderr = new Response(child.stderr).text();
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (killAfterMs !== undefined) {
    timer = setTimeout(() => {
      if (child.exitCode === null) {
        killed = true;
        child.kill("SIGKILL");
      }
    }, killAfterMs);
  }
  const code = await child.exited;
  clearTimeout(timer);
  return { code: killed ? null : code, killed, ms: performance.now() - started, stderr: await stderr };
}

/** Kill the command at random moments (up to three times), then let it finish. */
async function interruptThenFinish(args: string[], rng: ReturnType<typeof seededRandom>, typicalMs: number) {
  let kills = 0;
  for (let attempt = 0; attempt < 3; attempt++) {
    // From start-up (about a quarter of a clean run) to just past its end.
    const outcome = await cli(args, rng.between(Math.round(typicalMs * 0.2), Math.round(typicalMs * 1.05)));
    if (!outcome.killed) {
      expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      return kills;
    }
    kills++;
  }
  const last = await cli(args);
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return kills;
}

/** Every tag of a store, with its digest. */
async function storeTags(root: string): Promise<Record<string, string>> {
  const store = await Store.open({ root });
  try {
    const out: Record<string, string> = {};
    for (const repository of await store.repositories()) {
      for (const tag of await store.tags(repository)) out[`${repository}:${tag}`] = (await store.resolve(repository, tag)).digest;
    }
    return out;
  } finally {
    await store.close();
  }
}

describe("kill -9 of sync, then again: the same as an uninterrupted run", () => {
  test(`into a store directory, ${ROUNDS} rounds`, async () => {
    const reference = join(work, "store-reference");
    const clean = await cli(["sync", `oci:${source}`, `store:${reference}`]);
    expect(clean.code).toBe(0);
    const expected = await storeTags(reference);
    expect(Object.keys(expected).length).toBe(release.length); // each app, the multi-arch index, the artifact
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const root = join(work, `store-${round}`);
      kills += await interruptThenFinish(["sync", `oci:${source}`, `store:${root}`], seededRandom(SEED * 100 + round), clean.ms);
      expect(await storeTags(root)).toEqual(expected);
      expect((await checkStore(root)).damage).toEqual([]);
      rmSync(root, { recursive: true, force: true });
    }
    expect(kills).toBeGreaterThan(0);
    console.log(`crash-sync store: ${kills} kills over ${ROUNDS} rounds (a clean run takes ${Math.round(clean.ms)} ms)`);
  });

  test(`into a registry (stevedore serve), ${ROUNDS} rounds`, async () => {
    // The reference: an uninterrupted run into a registry of its own.
    const referenceRoot = join(work, "serve-reference");
    const reference = await startServe({ root: referenceRoot });
    const clean = await cli(["sync", `oci:${source}`, reference.host]);
    await reference.stop();
    expect(clean.code).toBe(0);
    const expected = await storeTags(referenceRoot);
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const root = join(work, `serve-${round}`);
      const serve = await startServe({ root });
      try {
        kills += await interruptThenFinish(["sync", `oci:${source}`, serve.host], seededRandom(SEED * 200 + round), clean.ms);
        const client = new PushClient(serve.url);
        for (const image of release) {
          const [path, tag] = registryName(image.name!);
          await client.pullImage(path, tag, image.descriptor.digest);
        }
      } finally {
        await serve.stop();
      }
      expect(await storeTags(root)).toEqual(expected);
      expect((await checkStore(root)).damage).toEqual([]);
      rmSync(root, { recursive: true, force: true });
    }
    expect(kills).toBeGreaterThan(0);
    console.log(`crash-sync registry: ${kills} kills over ${ROUNDS} rounds (a clean run takes ${Math.round(clean.ms)} ms)`);
  });

  test(`into an OCI layout directory, ${ROUNDS} rounds`, async () => {
    const reference = join(work, "layout-reference");
    const clean = await cli(["sync", `oci:${source}`, `oci:${reference}`]);
    expect(clean.code).toBe(0);
    const expectedIndex = await Bun.file(join(reference, "index.json")).text();
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const out = join(work, `layout-${round}`);
      kills += await interruptThenFinish(["sync", `oci:${source}`, `oci:${out}`], seededRandom(SEED * 300 + round), clean.ms);
      expect(sameEntries(await Bun.file(join(out, "index.json")).text(), expectedIndex)).toBe(true);
      expect((await verifyBundle(out)).problems).toEqual([]);
      // Nothing but the layout: what the killed runs left half-written is gone.
      expect(readdirSync(out).filter((name) => !["blobs", "index.json", "oci-layout"].includes(name))).toEqual([]);
      rmSync(out, { recursive: true, force: true });
    }
    expect(kills).toBeGreaterThan(0);
    console.log(`crash-sync layout: ${kills} kills over ${ROUNDS} rounds`);
  });
});

describe("kill -9 of sync into an archive, then again", () => {
  test(`the same bytes as an uninterrupted run, nothing left beside it; ${ROUNDS} rounds`, async () => {
    const referenceDir = join(work, "archive-reference");
    await Bun.write(join(referenceDir, ".keep"), "");
    const clean = await cli(["sync", `oci:${source}`, `oci-archive:${join(referenceDir, "out.tar")}`]);
    expect(clean.code).toBe(0);
    const expected = digestOf(await Bun.file(join(referenceDir, "out.tar")).bytes());
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join(work, `archive-${round}`);
      await Bun.write(join(dir, ".keep"), "");
      const out = join(dir, "out.tar");
      kills += await interruptThenFinish(["sync", `oci:${source}`, `oci-archive:${out}`], seededRandom(SEED * 500 + round), clean.ms);
      expect(digestOf(await Bun.file(out).bytes())).toBe(expected);
      expect(readdirSync(dir).sort()).toEqual([".keep", "out.tar"]);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(kills).toBeGreaterThan(0);
    console.log(`crash-sync archive: ${kills} kills over ${ROUNDS} rounds (a clean run takes ${Math.round(clean.ms)} ms)`);
  });
});

describe("kill -9 of bundle create, then again", () => {
  test(`the same bytes as an uninterrupted run, nothing left behind; ${ROUNDS} rounds`, async () => {
    const refs = release.filter((i) => !i.name!.endsWith(".sig")).map((i) => `${upstream.host}/${registryName(i.name!).join(":")}`);
    const referenceDir = join(work, "bundle-reference");
    const reference = join(referenceDir, "release.tar");
    rmSync(referenceDir, { recursive: true, force: true });
    await Bun.write(join(referenceDir, ".keep"), "");
    const clean = await cli(["bundle", "create", ...refs, "-o", reference]);
    expect({ code: clean.code, stderr: clean.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const expected = digestOf(await Bun.file(reference).bytes());
    let kills = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join(work, `bundle-${round}`);
      await Bun.write(join(dir, ".keep"), "");
      const out = join(dir, "release.tar");
      kills += await interruptThenFinish(["bundle", "create", ...refs, "-o", out], seededRandom(SEED * 400 + round), clean.ms);
      expect(digestOf(await Bun.file(out).bytes())).toBe(expected);
      // What the killed runs staged is gone once a run completes.
      expect(readdirSync(dir).sort()).toEqual([".keep", "release.tar"]);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(kills).toBeGreaterThan(0);
    console.log(`crash-bundle: ${kills} kills over ${ROUNDS} rounds (a clean run takes ${Math.round(clean.ms)} ms)`);
  });
});

/** `docker.io/acme/app-0:1.0` → [`acme/app-0`, `1.0`] (where sync puts it in a registry). */
function registryName(name: string): [string, string] {
  const withoutDomain = name.slice(name.indexOf("/") + 1);
  const colon = withoutDomain.lastIndexOf(":");
  return [withoutDomain.slice(0, colon), withoutDomain.slice(colon + 1)];
}

/** The same index entries, in any order (a resumed copy may finish images in another order). */
function sameEntries(a: string, b: string): boolean {
  const entries = (text: string) =>
    (JSON.parse(text).manifests as unknown[]).map((m) => JSON.stringify(m)).sort();
  return JSON.stringify(entries(a)) === JSON.stringify(entries(b));
}
