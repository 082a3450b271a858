/**
 * kill -9 of `serve` while clients push: round after round on one store
 * root, several clients push images that share layers (every upload
 * style: one POST, POST + PUT, chunked PATCHes) and serve is killed at a
 * seeded random moment. After each crash:
 *
 * - the store, opened as it was left, has no damage (test/helpers/store-check.ts,
 *   and `stevedore fsck`);
 * - serve restarts on the same root, and every image whose manifest PUT
 *   had returned 201, in this round or any earlier one, pulls intact
 *   (every manifest and blob digest-checked, by tag);
 * - the uploads the crash abandoned are swept (--upload-ttl 1s).
 *
 * One more round does the same with skopeo as the pushing client.
 *
 * STRESS_CRASH_ROUNDS (default 20) and STRESS_SEED replay a run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Digest } from "../../src/digest/index.ts";
import { type GeneratedManifest, generateImage, generateIndex, generateLayer, type Layer, writeOciLayout } from "../helpers/images.ts";
import { PushClient, UPLOAD_STYLES } from "../helpers/push-client.ts";
import { seededRandom, testSeed } from "../helpers/seeded-random.ts";
import { skopeo } from "../helpers/skopeo.ts";
import { checkStore } from "../helpers/store-check.ts";
import { type RunningServe, startServe } from "../helpers/stevedore-serve.ts";

const ROUNDS = testSeed("STRESS_CRASH_ROUNDS", 20);
const SEED = testSeed("STRESS_SEED", 6);
const CLIENTS = 4;
const IMAGES_PER_CLIENT = 4;
const SERVE_ARGS = ["--upload-ttl", "1s"];

interface Acknowledged {
  repository: string;
  tag: string;
  digest: Digest;
  round: number;
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "stevedore-crash-serve-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The images of one round: two shared base layers, a small and a large one, under every image. */
async function roundImages(round: number, rng: ReturnType<typeof seededRandom>): Promise<GeneratedManifest[][]> {
  const bases: Layer[] = [
    await generateLayer({ seed: `crash-${SEED}-${round}-base-small`, size: rng.between(4_000, 64_000) }),
    await generateLayer({ seed: `crash-${SEED}-${round}-base-large`, size: rng.between(600_000, 2_000_000) }),
  ];
  const perClient: GeneratedManifest[][] = [];
  for (let c = 0; c < CLIENTS; c++) {
    const images: GeneratedManifest[] = [];
    for (let i = 0; i < IMAGES_PER_CLIENT; i++) {
      const seed = `crash-${SEED}-${round}-${c}-${i}`;
      const spec = { seed, baseLayers: rng.int(3) === 0 ? [bases[0]!] : bases, layers: rng.between(1, 2), layerSize: rng.between(1_000, 300_000) };
      if (rng.int(5) === 0) {
        const amd = await generateImage({ ...spec, seed: `${seed}/amd64`, platform: { os: "linux", architecture: "amd64" } });
        const arm = await generateImage({ ...spec, seed: `${seed}/arm64`, platform: { os: "linux", architecture: "arm64" } });
        images.push(generateIndex(undefined, [amd, arm]));
      } else {
        images.push(await generateImage(spec));
      }
    }
    perClient.push(images);
  }
  return perClient;
}

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

/** `stevedore fsck --root ROOT --json`: its exit code and the problems it lists. */
async function stevedoreFsck(root: string): Promise<{ code: number; problems: unknown[] }> {
  const child = Bun.spawn([process.execPath, MAIN, "fsck", "--root", root, "--json"], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  let report: { problems?: unknown[] };
  try {
    report = JSON.parse(stdout) as { problems?: unknown[] };
  } catch {
    throw new Error(`stevedore fsck printed no JSON report (exit ${code}): ${stderr || stdout}`);
  }
  if (!Array.isArray(report.problems)) throw new Error(`stevedore fsck's report has no problems list: ${stdout.slice(0, 300)}`);
  return { code, problems: report.problems };
}

async function expectIntact(serve: RunningServe, acknowledged: Acknowledged[]): Promise<void> {
  const client = new PushClient(serve.url);
  const failures: string[] = [];
  for (const a of acknowledged) {
    await client.pullImage(a.repository, a.tag, a.digest).catch((error) => failures.push(`round ${a.round} ${a.repository}:${a.tag}: ${(error as Error).message}`));
  }
  expect(failures).toEqual([]);
}

/** Resolves once the uploads directory holds no staged upload (the sweep removed what the crash left). */
async function uploadsSwept(root: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = readdirSync(join(root, "uploads"));
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`abandoned uploads not swept within ${timeoutMs} ms: ${left.join(", ")}`);
    await Bun.sleep(100);
  }
}

describe("kill -9 of serve while clients push", () => {
  test(`${ROUNDS} rounds (seed ${SEED}): acknowledged images survive intact, the store stays sound, abandoned uploads are swept`, async () => {
    const root = join(work, "store");
    const acknowledged: Acknowledged[] = [];
    const stats = { rounds: 0, killedWithUploads: 0, acknowledged: 0, attempted: 0 };
    let serve = await startServe({ root, args: SERVE_ARGS });
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const rng = seededRandom(SEED * 1000 + round);
        const images = await roundImages(round, rng);
        const client = new PushClient(serve.url, { chunkSize: rng.pick([16 * 1024, 64 * 1024, 256 * 1024]) });
        const pushers = images.map(async (list, c) => {
          for (let i = 0; i < list.length; i++) {
            const image = list[i]!;
            const repository = `crash/app-${c % 2}`;
            const tag = `r${round}-c${c}-i${i}`;
            stats.attempted++;
            try {
              await client.pushImage(repository, tag, image, rng.pick(UPLOAD_STYLES));
            } catch {
              return; // serve is gone: this client stops
            }
            acknowledged.push({ repository, tag, digest: image.descriptor.digest, round });
          }
        });
        // The moment of the crash: from almost at once to well into the pushes.
        const delay = rng.between(5, 900);
        await Bun.sleep(delay);
        await serve.kill();
        await Promise.all(pushers);
        stats.rounds++;
        if (readdirSync(join(root, "uploads")).length > 0) stats.killedWithUploads++;

        // The store exactly as the crash left it: our own check, and stevedore fsck.
        const check = await checkStore(root);
        expect({ round, delay, damage: check.damage }).toEqual({ round, delay, damage: [] });
        const fsck = await stevedoreFsck(root);
        expect({ round, delay, fsck }).toEqual({ round, delay, fsck: { code: 0, problems: [] } });

        serve = await startServe({ root, args: SERVE_ARGS });
        await expectIntact(serve, acknowledged);
        await uploadsSwept(root);
      }
      stats.acknowledged = acknowledged.length;
    } finally {
      await serve.stop();
    }
    const final = await checkStore(root);
    expect(final.damage).toEqual([]);
    expect(final.uploads).toBe(0);
    expect(await stevedoreFsck(root)).toEqual({ code: 0, problems: [] });
    if (ROUNDS >= 10) {
      // The run did what it claims: many rounds cut uploads in flight, and pushes got through.
      expect(stats.killedWithUploads).toBeGreaterThan(ROUNDS / 4);
      expect(stats.acknowledged).toBeGreaterThan(ROUNDS);
    }
    console.log(`crash-serve: ${JSON.stringify({ ...stats, blobs: final.blobs, manifests: final.manifests, tags: final.tags, unrecorded: final.unrecorded })}`);
  });

  test("with skopeo as the client: what skopeo reported pushed pulls intact after the crash", async () => {
    const root = join(work, "store-skopeo");
    const rng = seededRandom(SEED);
    const base = await generateLayer({ seed: `skopeo-${SEED}-base`, size: 1_500_000 });
    const images: GeneratedManifest[] = [];
    for (let i = 0; i < 6; i++) {
      images.push(await generateImage({ name: `x:t${i}`, seed: `skopeo-${SEED}-${i}`, baseLayers: [base], layers: 2, layerSize: 200_000 + i * 50_000 }));
    }
    const layout = join(work, "skopeo-layout");
    await writeOciLayout(layout, images, { refName: "tag" });
    let serve = await startServe({ root, args: SERVE_ARGS });
    const acknowledged: Acknowledged[] = [];
    try {
      // Three chains of two pushes; the crash comes a random moment after the first push is acknowledged.
      const { promise: first, resolve: firstDone } = Promise.withResolvers<void>();
      const host = serve.host;
      const chains = [0, 1, 2].map(async (chain) => {
        for (const i of [chain, chain + 3]) {
          const tag = `t${i}`;
          const result = await skopeo(["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:${tag}`, `docker://${host}/skopeo/app-${i % 3}:${tag}`]);
          if (result.code !== 0) return;
          acknowledged.push({ repository: `skopeo/app-${i % 3}`, tag, digest: images[i]!.descriptor.digest, round: 0 });
          firstDone();
        }
      });
      await Promise.race([first, Promise.all(chains)]);
      await Bun.sleep(rng.between(0, 300));
      await serve.kill();
      await Promise.all(chains);
      expect(acknowledged.length).toBeGreaterThan(0);
      expect((await checkStore(root)).damage).toEqual([]);
      serve = await startServe({ root, args: SERVE_ARGS });
      await expectIntact(serve, acknowledged);
      await uploadsSwept(root);
      // And the interrupted pushes finish when run again.
      for (let i = 0; i < images.length; i++) {
        const result = await skopeo(["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:t${i}`, `docker://${serve.host}/skopeo/app-${i % 3}:t${i}`]);
        expect(result.stderr).toBe("");
      }
      await expectIntact(
        serve,
        images.map((image, i) => ({ repository: `skopeo/app-${i % 3}`, tag: `t${i}`, digest: image.descriptor.digest, round: 1 })),
      );
    } finally {
      await serve.stop();
    }
    const final = await checkStore(root);
    expect(final.damage).toEqual([]);
    console.log(`crash-serve (skopeo): ${acknowledged.length} of ${images.length} pushes acknowledged before the crash`);
  });
});
