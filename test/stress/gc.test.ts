/**
 * gc beside pushes. Several clients push continuously over HTTP to the
 * registry (many images sharing blobs: HEAD-then-skip, monolithic and
 * chunked uploads, re-uploads of blobs the store has, indexes, referrers)
 * while gc loops with no grace window, so that every race between a
 * delete and a push is as likely as it gets. Afterwards every image whose
 * manifest PUT was accepted, and that gc was told to keep, pulls intact
 * (every blob digest-checked through the registry), and fsck finds the
 * store sound. A push refused while gc ran (MANIFEST_BLOB_UNKNOWN, or 503
 * for a blob removed during its upload) is allowed: the client pushes again.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestOf } from "../../src/digest/index.ts";
import { MediaType } from "../../src/oci/index.ts";
import { createRegistryApp, listen, type RunningServer } from "../../src/registry/index.ts";
import { type BlobDriver, FilesystemDriver, type GcOptions, type KeepEntry, runFsck, runGc, Store } from "../../src/store/index.ts";
import {
  allBlobs,
  type GeneratedBlob,
  type GeneratedManifest,
  generateArtifact,
  generateImage,
  generateLayer,
  generateMultiArch,
  randomBytes,
} from "../helpers/images.ts";

const PUSH_MS = 10_000;
const CLIENTS = 4;
const REPOSITORIES = ["alpha", "beta/app", "gamma"];
const TAGS = ["v0", "v1", "v2", "v3", "v4", "v5"];

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn();
  cleanup = [];
});

/** Each (repository, tag) always names the same image, so what a tag must resolve to is known. */
async function imagePool(): Promise<Map<string, GeneratedManifest>> {
  const bases = [
    await generateLayer({ seed: "base-big", size: 192 * 1024, compression: "none" }),
    await generateLayer({ seed: "base-mid", size: 24 * 1024 }),
    await generateLayer({ seed: "base-small", size: 2 * 1024 }),
  ];
  const pool = new Map<string, GeneratedManifest>();
  let i = 0;
  for (const repository of REPOSITORIES) {
    for (const tag of TAGS) {
      const spec = { seed: `${repository}/${tag}`, baseLayers: [bases[i % 3]!, bases[(i + 1) % 3]!], layers: 1, layerSize: 4096 };
      // One in four is a multi-arch index (children pushed by digest first).
      pool.set(`${repository}:${tag}`, i % 4 === 3 ? await generateMultiArch(`${repository}:${tag}`, spec) : await generateImage(spec));
      i++;
    }
  }
  return pool;
}

interface Tally {
  accepted: Map<string, string>;
  /** Referrers accepted, by the subject's repository:tag. */
  referrers: Map<string, string>;
  manifestBlobUnknown: number;
  unavailable: number;
  pushes: number;
  unexpected: string[];
}

/** A tiny registry client speaking the distribution API, as docker and skopeo do. */
class Pusher {
  constructor(
    readonly base: string,
    readonly random: () => number,
    readonly tally: Tally,
  ) {}

  async #fetch(method: string, path: string, init: RequestInit, allowed: number[]): Promise<Response> {
    const response = await fetch(path.startsWith("http") ? path : `${this.base}${path}`, { method, ...init });
    if (!allowed.includes(response.status)) {
      this.tally.unexpected.push(`${method} ${path}: ${response.status} ${await response.clone().text()}`);
    }
    return response;
  }

  /** HEAD (usually), then upload; a 503 (gc removed the blob while its copy streamed in) starts the upload over. */
  async pushBlob(repository: string, b: GeneratedBlob): Promise<void> {
    if (this.random() < 0.7) {
      const head = await this.#fetch("HEAD", `/v2/${repository}/blobs/${b.descriptor.digest}`, {}, [200, 404]);
      if (head.status === 200) return;
    }
    for (let attempt = 0; attempt < 20; attempt++) {
      if ((await this.#upload(repository, b)) !== 503) return;
      this.tally.unavailable++;
    }
    this.tally.unexpected.push(`blob ${b.descriptor.digest}: 503 twenty times`);
  }

  /** One upload: monolithic (POST, PUT) or chunked (POST, PATCH, PATCH, PUT). Returns the final status. */
  async #upload(repository: string, b: GeneratedBlob): Promise<number> {
    const d = b.descriptor.digest;
    const start = await this.#fetch("POST", `/v2/${repository}/blobs/uploads/`, {}, [202]);
    let location = new URL(start.headers.get("location")!, this.base).toString();
    await start.arrayBuffer();
    const withDigest = (url: string) => `${url}${url.includes("?") ? "&" : "?"}digest=${d}`;
    if (this.random() < 0.7 || b.bytes.byteLength < 2) {
      const put = await this.#fetch("PUT", withDigest(location), { body: b.bytes }, [201, 503]);
      await put.arrayBuffer();
      return put.status;
    }
    const half = Math.floor(b.bytes.byteLength / 2);
    for (const [from, to] of [
      [0, half],
      [half, b.bytes.byteLength],
    ] as const) {
      const patch = await this.#fetch(
        "PATCH",
        location,
        { body: b.bytes.subarray(from, to), headers: { "Content-Range": `${from}-${to - 1}`, "Content-Type": "application/octet-stream" } },
        [202],
      );
      location = new URL(patch.headers.get("location")!, this.base).toString();
      await patch.arrayBuffer();
    }
    const put = await this.#fetch("PUT", withDigest(location), {}, [201, 503]);
    await put.arrayBuffer();
    return put.status;
  }

  /** PUT a manifest; true when accepted. MANIFEST_BLOB_UNKNOWN (gc removed something) is counted, not an error. */
  async putManifest(repository: string, reference: string, m: GeneratedManifest): Promise<boolean> {
    const response = await this.#fetch(
      "PUT",
      `/v2/${repository}/manifests/${reference}`,
      { body: m.bytes, headers: { "Content-Type": m.descriptor.mediaType } },
      [201, 400],
    );
    const text = await response.text();
    if (response.status === 201) return true;
    if (text.includes("MANIFEST_BLOB_UNKNOWN")) this.tally.manifestBlobUnknown++;
    else this.tally.unexpected.push(`PUT manifest ${repository}:${reference}: ${response.status} ${text}`);
    return false;
  }

  /** Blobs, children by digest, then the tag; and now and then a signature for it. */
  async pushImage(repository: string, tag: string, m: GeneratedManifest): Promise<void> {
    this.tally.pushes++;
    for (const b of allBlobs([m])) await this.pushBlob(repository, b);
    for (const child of m.children) if (!(await this.putManifest(repository, child.descriptor.digest, child))) return;
    if (!(await this.putManifest(repository, tag, m))) return;
    this.tally.accepted.set(`${repository}:${tag}`, m.descriptor.digest);
    if (this.random() < 0.3) {
      const signature = generateArtifact(m, { payload: `signed ${repository}:${tag}` });
      for (const b of signature.blobs) await this.pushBlob(repository, b);
      if (await this.putManifest(repository, signature.descriptor.digest, signature)) {
        this.tally.referrers.set(`${repository}:${tag}`, signature.descriptor.digest);
      }
    }
  }
}

/** A seeded PRNG, so a failing run can be replayed with the same choices. */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

async function bytesOf(response: Response): Promise<Uint8Array> {
  return new Uint8Array(await response.arrayBuffer());
}

/** Pull an image through the registry: manifests and every blob, each digest-checked. */
async function expectPulls(base: string, repository: string, reference: string, expected: string): Promise<void> {
  const response = await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
    headers: { Accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json" },
  });
  expect({ image: `${repository}:${reference}`, status: response.status }).toEqual({ image: `${repository}:${reference}`, status: 200 });
  const bytes = await bytesOf(response);
  expect(digestOf(bytes) as string).toBe(expected);
  const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
    manifests?: { digest: string }[];
    config?: { digest: string };
    layers?: { digest: string }[];
  };
  for (const child of parsed.manifests ?? []) await expectPulls(base, repository, child.digest, child.digest);
  for (const b of [parsed.config, ...(parsed.layers ?? [])]) {
    if (!b) continue;
    const blob = await fetch(`${base}/v2/${repository}/blobs/${b.digest}`);
    expect({ blob: b.digest, status: blob.status }).toEqual({ blob: b.digest, status: 200 });
    expect(digestOf(await bytesOf(blob)) as string).toBe(b.digest);
  }
}

/**
 * The filesystem driver with a random pause of up to 3 ms before each
 * stat, commit and delete: the windows between a check and the act that
 * relies on it grow wide enough for the races to happen often.
 */
function jittery(driver: BlobDriver): BlobDriver {
  const rnd = random(42);
  const slowed = new Set<string | symbol>(["stat", "commitStaged", "delete"]);
  return new Proxy(driver, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      if (!slowed.has(property)) return value.bind(target);
      return async (...args: unknown[]) => {
        await Bun.sleep(rnd() * 3);
        return value.apply(target, args);
      };
    },
  });
}

async function startRegistry(): Promise<{ root: string; store: Store; server: RunningServer }> {
  const root = await mkdtemp(join(tmpdir(), "stevedore-gc-stress-"));
  const store = await Store.open({ root, driver: jittery(await FilesystemDriver.open(root)) });
  const server = listen(createRegistryApp(store), { hostname: "127.0.0.1", port: 0 });
  cleanup.push(async () => {
    await server.stop(1000);
    await store.close();
    await rm(root, { recursive: true, force: true });
  });
  return { root, store, server };
}

/**
 * Run CLIENTS clients, each calling `push` over and over for PUSH_MS,
 * while gc loops over `store` with `options` (resting a random 0-40 ms
 * between runs, so whole pushes get through between them too); stop, and
 * return what was accepted.
 */
async function pushWhileCollecting(
  base: string,
  push: (pusher: Pusher, client: number, elapsed: number) => Promise<void>,
  store: Store,
  options: GcOptions,
): Promise<{ tally: Tally; gcRuns: number; removed: { tags: number; manifests: number; blobs: number } }> {
  const tally: Tally = { accepted: new Map(), referrers: new Map(), manifestBlobUnknown: 0, unavailable: 0, pushes: 0, unexpected: [] };
  const started = performance.now();
  let pushing = true;
  let gcRuns = 0;
  const removed = { tags: 0, manifests: 0, blobs: 0 };
  const gcRandom = random(99);
  const collector = (async () => {
    while (pushing) {
      const report = await runGc(store, { graceMs: 0, ...options });
      gcRuns++;
      removed.tags += report.tags.length;
      removed.manifests += report.manifests.length;
      removed.blobs += report.blobs.count;
      await Bun.sleep(gcRandom() * 40);
    }
  })();
  // Seen by the test at its end, not reported as unhandled meanwhile.
  collector.catch(() => undefined);
  const clients = Array.from({ length: CLIENTS }, async (_, c) => {
    const pusher = new Pusher(base, random(c + 1), tally);
    for (let elapsed = 0; elapsed < PUSH_MS; elapsed = performance.now() - started) await push(pusher, c, elapsed);
  });
  await Promise.allSettled(clients);
  pushing = false;
  await collector;
  await Promise.all(clients);
  return { tally, gcRuns, removed };
}

/** Push a random image of the pool under its tag. */
function fromPool(pool: Map<string, GeneratedManifest>) {
  const keys = [...pool.keys()];
  return async (pusher: Pusher) => {
    const key = keys[Math.floor(pusher.random() * keys.length)]!;
    const [repository, tag] = key.split(":") as [string, string];
    await pusher.pushImage(repository, tag, pool.get(key)!);
  };
}

/**
 * Churn: layers come from a window that slides forward every 150 ms (and
 * now and then from behind it). Images under tags t0-t2, which gc removes,
 * keep using them, so gc keeps deleting layers that clients are pushing
 * again at that very moment; and now and then an image under a new tag
 * that gc keeps (k-…) takes layers from the same window: a kept image
 * whose blobs went through those races.
 */
function churn() {
  const layers = new Map<number, GeneratedBlob>();
  const layer = (i: number): GeneratedBlob => {
    let b = layers.get(i);
    if (!b) {
      const bytes = randomBytes(`churn-${i}`, 16 * 1024 + i);
      b = { descriptor: { mediaType: MediaType.ociLayer, digest: digestOf(bytes), size: bytes.byteLength }, bytes };
      layers.set(i, b);
    }
    return b;
  };
  const counters = new Map<number, number>();
  return async (pusher: Pusher, client: number, elapsed: number) => {
    const w = Math.floor(elapsed / 150);
    // Mostly the window; now and then a layer that left it a while ago (gc is removing such layers right now).
    const pick = () => layer(pusher.random() < 0.8 ? w + Math.floor(pusher.random() * 6) : Math.max(0, w - 1 - Math.floor(pusher.random() * 12)));
    const repository = `churn/r${Math.floor(pusher.random() * 2)}`;
    if (pusher.random() < 0.35) {
      const n = (counters.get(client) ?? 0) + 1;
      counters.set(client, n);
      await pusher.pushImage(repository, `k-${client}-${n}`, imageOf(`k-${client}-${n}`, [pick(), pick()]));
    } else {
      const a = pick();
      await pusher.pushImage(repository, `t${Math.floor(pusher.random() * 3)}`, imageOf(`t-${a.descriptor.digest}`, [a, pick()]));
    }
  };
}

function imageOf(seed: string, layers: GeneratedBlob[]): GeneratedManifest {
  const configBytes = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, seed }));
  const config: GeneratedBlob = { descriptor: { mediaType: MediaType.ociConfig, digest: digestOf(configBytes), size: configBytes.byteLength }, bytes: configBytes };
  const unique = [...new Map(layers.map((l) => [l.descriptor.digest, l])).values()];
  const bytes = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: config.descriptor, layers: unique.map((l) => l.descriptor) }),
  );
  return { descriptor: { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.byteLength }, bytes, blobs: [config, ...unique], children: [] };
}

describe("gc while clients push", () => {
  test(
    "without keep lists, from serve itself and from a gc process beside it: every accepted image pulls intact",
    async () => {
      const pool = await imagePool();
      const { root, store, server } = await startRegistry();
      // `stevedore gc` beside serve: another process, another connection to the same database.
      const beside = Bun.spawn([process.execPath, join(import.meta.dir, "gc-loop.ts"), root, String(PUSH_MS)], { stdout: "pipe", stderr: "pipe" });
      cleanup.push(async () => {
        beside.kill();
        await beside.exited;
      });
      // And gc inside serve (what the admin API runs), on the serving store.
      const { tally, gcRuns, removed } = await pushWhileCollecting(server.url, fromPool(pool), store, { deleteUntagged: true });
      const [besideOut, besideErr, besideCode] = await Promise.all([new Response(beside.stdout).text(), new Response(beside.stderr).text(), beside.exited]);
      expect({ code: besideCode, stderr: besideErr }).toEqual({ code: 0, stderr: "" });
      const other = JSON.parse(besideOut) as { runs: number; manifests: number; blobs: number };
      console.log(
        `gc stress (no keep): ${tally.pushes} pushes, ${tally.accepted.size} tags accepted; gc in serve: ${gcRuns} runs removed ${removed.manifests} manifests, ${removed.blobs} blobs; ` +
          `gc beside: ${other.runs} runs removed ${other.manifests} manifests, ${other.blobs} blobs; clients saw ${tally.manifestBlobUnknown} MANIFEST_BLOB_UNKNOWN, ${tally.unavailable} 503`,
      );
      expect(tally.unexpected).toEqual([]);
      // Floors that prove races happened, low enough for a loaded CI machine.
      expect(gcRuns).toBeGreaterThan(2);
      expect(other.runs).toBeGreaterThan(2);
      expect(tally.accepted.size).toBeGreaterThan(REPOSITORIES.length);
      for (const [key, digest] of tally.accepted) {
        const [repository, tag] = key.split(":") as [string, string];
        await expectPulls(server.url, repository, tag, digest);
      }
      for (const [key, digest] of tally.referrers) {
        await expectPulls(server.url, key.split(":")[0]!, digest, digest);
      }
      const fsck = await runFsck(store, { graceMs: 0 });
      expect(fsck.problems).toEqual([]);
    },
    { timeout: 45_000 },
  );

  test(
    "with a keep list and retention, under churn: every accepted image gc keeps pulls intact, with its referrers; the rest goes",
    async () => {
      const { store, server } = await startRegistry();
      const fixed = await generateImage({ seed: "fixed" });
      const setup = new Pusher(server.url, random(7), { accepted: new Map(), referrers: new Map(), manifestBlobUnknown: 0, unavailable: 0, pushes: 0, unexpected: [] });
      await setup.pushImage("churn/fixed", "1", fixed);
      const keep: KeepEntry[] = [{ repositories: ["churn/fixed"], tag: "1", name: "churn/fixed:1", origin: "stress" }];
      const { tally, gcRuns, removed } = await pushWhileCollecting(server.url, churn(), store, {
        keep,
        retention: { keepRecent: 1_000_000, tagPattern: /k-.*/ },
        deleteUntagged: true,
        // In the serving process there is no other process to leave the database's lock to: as fast as it goes.
        pace: false,
      });
      console.log(
        `gc stress (keep, churn): ${tally.pushes} pushes, ${tally.accepted.size} tags accepted, ${gcRuns} gc runs removed ${removed.tags} tags, ` +
          `${removed.manifests} manifests and ${removed.blobs} blobs; clients saw ${tally.manifestBlobUnknown} MANIFEST_BLOB_UNKNOWN, ${tally.unavailable} 503`,
      );
      expect(tally.unexpected).toEqual([]);
      expect(removed.blobs).toBeGreaterThan(10);
      let kept = 0;
      for (const [key, digest] of tally.accepted) {
        const [repository, tag] = key.split(":") as [string, string];
        if (!tag.startsWith("k-")) continue;
        kept++;
        await expectPulls(server.url, repository, tag, digest);
        const signature = tally.referrers.get(key);
        if (signature) await expectPulls(server.url, repository, signature, signature);
      }
      expect(kept).toBeGreaterThan(4);
      await expectPulls(server.url, "churn/fixed", "1", fixed.descriptor.digest);
      const fsck = await runFsck(store, { graceMs: 0 });
      expect(fsck.problems).toEqual([]);
    },
    { timeout: 45_000 },
  );
});
