/**
 * Load on loopback, bounded: 32 clients against the real `serve` for
 * STRESS_LOAD_SECONDS (default 60), mixing pulls of large blobs (streamed
 * and digest-checked), manifest HEADs, pushes of new images, and tag
 * deletes and untagged pushes that make garbage, while `stevedore gc`
 * runs in a loop beside it (another process on the same store, a short
 * grace window, untagged manifests removed). Checked:
 *
 * - no request fails;
 * - serve's memory stays flat: its resident set (VmRSS, sampled) grows
 *   by less than a bound after warm-up, whatever the bytes served;
 * - p50/p99 latency per kind of request, printed;
 * - afterwards every image still tagged pulls intact, gc removed the
 *   garbage, and fsck finds the store sound.
 *
 * STRESS_LOAD_SECONDS and STRESS_SEED replay or lengthen a run.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Digest } from "../../src/digest/index.ts";
import { digestOf } from "../../src/digest/index.ts";
import { MediaType } from "../../src/oci/index.ts";
import { type GeneratedBlob, type GeneratedManifest, generateImage, generateLayer, type Layer, randomBytes } from "../helpers/images.ts";
import { PushClient, UPLOAD_STYLES } from "../helpers/push-client.ts";
import { seededRandom, testSeed } from "../helpers/seeded-random.ts";
import { type RunningServe, startServe } from "../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const SECONDS = testSeed("STRESS_LOAD_SECONDS", 60);
const SEED = testSeed("STRESS_SEED", 6);
const CLIENTS = 32;
const BIG_BLOBS = 4;
const BIG_SIZE = 16 * 1024 * 1024;
/** Resident memory serve may add after warm-up, whatever the bytes it moves. */
const RSS_GROWTH_LIMIT = 96 * 1024 * 1024;

let work: string;
let serve: RunningServe;
let big: { blob: GeneratedBlob; image: GeneratedManifest };

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-load-"));
  serve = await startServe({ root: join(work, "store"), args: ["--log-format", "json"] });
  // The large blobs everyone pulls: one image holding them, tagged, so gc keeps them.
  const layers: Layer[] = [];
  for (let i = 0; i < BIG_BLOBS; i++) {
    const bytes = randomBytes(`load-big-${i}`, BIG_SIZE);
    layers.push({ descriptor: { mediaType: MediaType.ociLayer, digest: digestOf(bytes), size: bytes.byteLength }, bytes, diffId: digestOf(bytes) });
  }
  const image = await generateImage({ seed: "load-big", baseLayers: layers, layers: 0 });
  await new PushClient(serve.url).pushImage("load/big", "1.0", image, "post-put");
  big = { blob: layers[0]!, image };
});
afterAll(async () => {
  await serve?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The pid of the serve process (the child whose command line names its root). */
function servePid(root: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmdline.includes("\0serve\0") && cmdline.includes(root)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no serve process for ${root}`);
}

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match?.[1] ?? 0) * 1024;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Pushed {
  repository: string;
  tag: string;
  digest: Digest;
  deleted?: boolean;
}

test(`32 clients for ${SECONDS} s with gc looping beside: no errors, flat memory, nothing lost`, async () => {
  const pid = servePid(join(work, "store"));
  const deadline = performance.now() + SECONDS * 1000;
  const latencies = new Map<string, number[]>();
  const errors: string[] = [];
  const pushed: Pushed[] = [];
  let bytesPulled = 0;
  const time = async <T>(kind: string, fn: () => Promise<T>): Promise<T | undefined> => {
    const started = performance.now();
    try {
      return await fn();
    } catch (error) {
      if (errors.length < 20) errors.push(`${kind}: ${(error as Error).message}`);
      return undefined;
    } finally {
      const list = latencies.get(kind) ?? [];
      list.push(performance.now() - started);
      latencies.set(kind, list);
    }
  };

  // Memory: sampled twice a second.
  const rss: { at: number; bytes: number }[] = [];
  const started = performance.now();
  const sampler = setInterval(() => rss.push({ at: performance.now() - started, bytes: rssBytes(pid) }), 500);

  // gc in a loop, in a process beside serve, as an operator's cron job would.
  const gcReports: { manifests: number; blobs: number; tags: number }[] = [];
  const gcErrors: string[] = [];
  const gcLoop = (async () => {
    while (performance.now() < deadline) {
      const child = Bun.spawn(
        [process.execPath, MAIN, "gc", "--root", join(work, "store"), "--grace", "8s", "--delete-untagged", "--json"],
        { stdout: "pipe", stderr: "pipe", stdin: "ignore" },
      );
      const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
      if (code !== 0) {
        gcErrors.push(`gc exit ${code}: ${stderr.slice(0, 300)}`);
        continue;
      }
      const report = JSON.parse(stdout) as { manifests: unknown[]; blobs: { count: number }; tags: unknown[] };
      gcReports.push({ manifests: report.manifests.length, blobs: report.blobs.count, tags: report.tags.length });
    }
  })();

  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    const rng = seededRandom(SEED * 1000 + c);
    const client = new PushClient(serve.url, { chunkSize: 128 * 1024 });
    for (let n = 0; performance.now() < deadline; n++) {
      const roll = rng.int(100);
      if (roll < 40) {
        const layer = big.image.blobs[1 + rng.int(BIG_BLOBS)]!;
        await time("pull 16 MiB blob", async () => {
          await client.pullBlob("load/big", layer.descriptor.digest, layer.descriptor.size);
          bytesPulled += layer.descriptor.size;
        });
      } else if (roll < 70) {
        await time("manifest HEAD", async () => {
          const response = await fetch(`${serve.url}/v2/load/big/manifests/1.0`, { method: "HEAD" });
          if (response.status !== 200 || response.headers.get("docker-content-digest") !== big.image.descriptor.digest) {
            throw new Error(`HEAD answered ${response.status} ${response.headers.get("docker-content-digest")}`);
          }
        });
      } else if (roll < 90) {
        const image = await generateImage({ seed: `load-${SEED}-${c}-${n}`, layers: rng.between(1, 2), layerSize: rng.between(2_000, 200_000) });
        const repository = `load/app-${c % 8}`;
        const tag = `c${c}-n${n}`;
        const ok = await time("push image", () => client.pushImage(repository, tag, image, rng.pick(UPLOAD_STYLES)).then(() => true));
        if (ok) pushed.push({ repository, tag, digest: image.descriptor.digest });
      } else {
        // Garbage for gc: a pushed tag deleted, or an image pushed by digest only.
        const mine = pushed.filter((p) => !p.deleted && p.tag.startsWith(`c${c}-`));
        if (mine.length > 0 && rng.int(2) === 0) {
          const victim = mine[rng.int(mine.length)]!;
          victim.deleted = true;
          await time("tag DELETE", async () => {
            const response = await fetch(`${serve.url}/v2/${victim.repository}/manifests/${victim.tag}`, { method: "DELETE" });
            if (response.status !== 202) throw new Error(`DELETE answered ${response.status}`);
          });
        } else {
          const image = await generateImage({ seed: `load-untagged-${SEED}-${c}-${n}`, layers: 1, layerSize: rng.between(2_000, 50_000) });
          await time("push untagged", () => client.pushImage(`load/app-${c % 8}`, image.descriptor.digest, image, "monolithic"));
        }
      }
    }
  });
  await Promise.all(clients);
  await gcLoop;
  clearInterval(sampler);

  // Report.
  const rows = [...latencies.entries()].map(([kind, list]) => {
    const sorted = [...list].sort((a, b) => a - b);
    return `${kind.padEnd(18)} n=${String(sorted.length).padStart(6)}  p50=${percentile(sorted, 50).toFixed(1).padStart(7)} ms  p99=${percentile(sorted, 99).toFixed(1).padStart(7)} ms  max=${sorted.at(-1)!.toFixed(1).padStart(7)} ms`;
  });
  const warm = rss.filter((s) => s.at > SECONDS * 1000 * 0.2);
  const warmStart = warm[0]?.bytes ?? 0;
  const peak = Math.max(...warm.map((s) => s.bytes));
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;
  const gcTotals = gcReports.reduce((a, r) => ({ runs: a.runs + 1, manifests: a.manifests + r.manifests, blobs: a.blobs + r.blobs }), { runs: 0, manifests: 0, blobs: 0 });
  console.log(
    [
      `load: ${CLIENTS} clients, ${SECONDS} s, ${(bytesPulled / 1e9).toFixed(2)} GB pulled (${(bytesPulled / 1e6 / SECONDS).toFixed(0)} MB/s), ${pushed.length} images pushed`,
      ...rows.map((r) => `  ${r}`),
      `  serve RSS: ${mb(rss[0]?.bytes ?? 0)} at start, ${mb(warmStart)} after warm-up, peak ${mb(peak)} after it (limit +${mb(RSS_GROWTH_LIMIT)})`,
      `  gc beside: ${gcTotals.runs} runs removed ${gcTotals.manifests} manifests and ${gcTotals.blobs} blobs`,
    ].join("\n"),
  );

  expect(errors).toEqual([]);
  expect(gcErrors).toEqual([]);
  expect(peak - warmStart).toBeLessThan(RSS_GROWTH_LIMIT);
  expect(bytesPulled).toBeGreaterThan(BIG_SIZE * 8);
  expect(gcTotals.runs).toBeGreaterThan(0);
  if (SECONDS >= 30) expect(gcTotals.manifests).toBeGreaterThan(0);

  // Nothing lost: every image still tagged pulls intact; the big image too.
  const client = new PushClient(serve.url);
  const lost: string[] = [];
  for (const p of pushed.filter((p) => !p.deleted)) {
    await client.pullImage(p.repository, p.tag, p.digest).catch((error) => lost.push(`${p.repository}:${p.tag}: ${(error as Error).message}`));
  }
  await client.pullImage("load/big", "1.0", big.image.descriptor.digest);
  expect(lost).toEqual([]);
  const fsck = Bun.spawn([process.execPath, MAIN, "fsck", "--root", join(work, "store"), "--json"], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(fsck.stdout).text(), fsck.exited]);
  expect({ code, problems: (JSON.parse(out) as { problems: unknown[] }).problems }).toEqual({ code: 0, problems: [] });
});
