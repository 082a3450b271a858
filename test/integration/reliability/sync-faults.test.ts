/**
 * sync against a peer that misbehaves: a fault-injecting proxy
 * (test/helpers/fault-proxy.ts) in front of a real CNCF registry, as the
 * source, and in front of `stevedore serve`, as the destination. What can
 * succeed by trying again is retried (5xx, 429 with Retry-After, a
 * connection dropped mid-body, a lying Content-Length); what
 * cannot fails clearly, naming the blob or manifest; and an image is
 * never tagged unless every byte of it was verified. (A peer that stalls
 * is in test/stress/sync-stall.test.ts: Bun's idle timeout takes 8 s to fire.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { Store } from "../../../src/store/index.ts";
import { type SyncSummary, syncImages } from "../../../src/sync/index.ts";
import { openDestination, openSource } from "../../../src/transports/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { type FaultProxy, type FaultRule, startFaultProxy } from "../../helpers/fault-proxy.ts";
import { type GeneratedManifest, generateImage, writeOciLayout } from "../../helpers/images.ts";
import { PushClient } from "../../helpers/push-client.ts";
import { checkStore } from "../../helpers/store-check.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");

let work: string;
let upstream: DockerRegistry;
let proxy: FaultProxy;
let serve: RunningServe;
let serveProxy: FaultProxy;
let image: GeneratedManifest;
let layer: Digest;
let manifestDigest: Digest;
let runs = 0;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-sync-faults-"));
  [upstream, serve] = await Promise.all([startDockerRegistry(), startServe()]);
  [proxy, serveProxy] = await Promise.all([startFaultProxy(upstream.url), startFaultProxy(serve.url)]);
  image = await generateImage({ seed: "sync-faults", layers: 2, layerSize: 120_000 });
  await new PushClient(upstream.url).pushImage("faults/app", "1.0", image, "post-put");
  layer = image.blobs.at(-1)!.descriptor.digest;
  manifestDigest = image.descriptor.digest;
});
afterAll(async () => {
  await Promise.all([proxy?.stop(), serveProxy?.stop(), upstream?.stop(), serve?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

/** Client settings that keep the test quick: short backoff, a 1 s idle timeout. */
const FAST = { retry: { baseDelayMs: 20, maxDelayMs: 2_000 }, idleTimeoutMs: 1_000, requestTimeoutMs: 10_000 };

/** Sync the image from the upstream through the proxy into a new store; the outcome and what the store then holds. */
async function syncThroughProxy(rules: FaultRule[]) {
  proxy.rules = rules;
  const root = join(work, `store-${++runs}`);
  const started = performance.now();
  const source = await openSource(`docker://${proxy.host}/faults/app:1.0`, { registry: FAST });
  const destination = await openDestination(`store:${root}`);
  let summary: SyncSummary;
  try {
    summary = await syncImages(source, destination, { retry: { baseDelayMs: 20 } });
  } finally {
    await (destination.home as Store).close();
  }
  const ms = performance.now() - started;
  const store = await Store.open({ root });
  let tagged: Digest | undefined;
  let layerStored: boolean;
  try {
    tagged = await store.resolve("faults/app", "1.0").then(
      (d) => d.digest,
      () => undefined,
    );
    layerStored = (await store.metadata.blobSize(layer)) !== undefined;
  } finally {
    await store.close();
  }
  const { damage } = await checkStore(root);
  return { summary, tagged, layerStored, damage, ms, faults: proxy.log.filter((l) => l.fault).length };
}

const layerPath = () => new RegExp(`/blobs/${layer}$`);

describe("the source misbehaves; what can succeed is retried", () => {
  test.each([
    ["503 twice", { kind: "status", status: 503 }, 2],
    ["500 once", { kind: "status", status: 500 }, 1],
    ["the connection dropped mid-body", { kind: "truncate", bytes: 40_000 }, 2],
    ["a Content-Length longer than the body", { kind: "length", contentLength: 500_000 }, 1],
    ["the connection reset before an answer", { kind: "reset" }, 1],
  ] as const)("%s on a layer", async (_name, fault, times) => {
    proxy.log.length = 0;
    const result = await syncThroughProxy([{ method: "GET", path: layerPath(), times, fault }]);
    expect({ failures: result.summary.failures, tagged: result.tagged, damage: result.damage, faults: result.faults }).toEqual({
      failures: [],
      tagged: manifestDigest,
      damage: [],
      faults: times,
    });
  });

  test("429 with Retry-After: the wait it asks for is honoured", async () => {
    proxy.log.length = 0;
    const result = await syncThroughProxy([
      { path: /\/manifests\/1\.0$/, times: 1, fault: { kind: "status", status: 429, headers: { "Retry-After": "1" } } },
    ]);
    expect({ failures: result.summary.failures, tagged: result.tagged }).toEqual({ failures: [], tagged: manifestDigest });
    expect(result.ms).toBeGreaterThanOrEqual(1_000);
  });

  test("a manifest fetch that fails twice with 503, then works", async () => {
    const result = await syncThroughProxy([{ method: "GET", path: /\/manifests\//, times: 2, fault: { kind: "status", status: 503 } }]);
    expect({ failures: result.summary.failures, tagged: result.tagged }).toEqual({ failures: [], tagged: manifestDigest });
  });
});

describe("what cannot succeed fails clearly, and nothing unverified is tagged", () => {
  test.each([
    ["always 503", { kind: "status", status: 503 }, /503|unavailable/i],
    ["always 429", { kind: "status", status: 429, headers: { "Retry-After": "0" } }, /429|too many/i],
    ["always cut mid-body", { kind: "truncate", bytes: 40_000 }, /closed|reset|short|size/i],
    ["always a short Content-Length", { kind: "length", contentLength: 1_000 }, /size|bytes/i],
    ["always corrupt bytes (a wrong digest)", { kind: "corrupt", offset: 5_000 }, /digest|hash/i],
  ] as const)("%s on a layer: the image fails naming the layer; no tag, no bad bytes", async (_name, fault, reason) => {
    const result = await syncThroughProxy([{ method: "GET", path: layerPath(), fault }]);
    expect(result.summary.images.failed).toBe(1);
    const message = result.summary.failures[0]!.error;
    expect(message).toContain(layer);
    expect(message).toMatch(reason);
    expect({ tagged: result.tagged, layerStored: result.layerStored, damage: result.damage }).toEqual({
      tagged: undefined,
      layerStored: false,
      damage: [],
    });
  });

  test("a manifest whose bytes are corrupted in transit: refused by its digest, no tag", async () => {
    const result = await syncThroughProxy([{ method: "GET", path: /\/manifests\//, fault: { kind: "corrupt", offset: 40 } }]);
    expect(result.summary.images.failed).toBe(1);
    expect(result.summary.failures[0]!.error).toMatch(/digest|hash|manifest/i);
    expect(result.tagged).toBeUndefined();
  });

  test("a lying Docker-Content-Digest on the manifest: the bytes decide, the image lands under its true digest", async () => {
    const lie = digestOf("something else");
    const result = await syncThroughProxy([{ method: "GET", path: /\/manifests\/1\.0$/, fault: { kind: "headers", headers: { "Docker-Content-Digest": lie } } }]);
    // Either refused, or stored under the digest of the bytes it got: never under the lie.
    expect(result.tagged === undefined || result.tagged === manifestDigest).toBe(true);
    expect(result.damage).toEqual([]);
  });

  test("the CLI says so in one line and exits 1", async () => {
    proxy.rules = [{ method: "GET", path: layerPath(), fault: { kind: "corrupt", offset: 5_000 } }];
    const root = join(work, "cli-store");
    const child = Bun.spawn([process.execPath, MAIN, "sync", `docker://${proxy.host}/faults/app:1.0`, `store:${root}`], {
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect(code).toBe(1);
    expect(stderr).toContain(layer);
    expect(`${stdout}${stderr}`).not.toMatch(/\n\s+at /); // no stack trace
    const store = await Store.open({ root });
    try {
      await expect(store.resolve("faults/app", "1.0")).rejects.toThrow();
    } finally {
      await store.close();
    }
  });
});

describe("the destination misbehaves", () => {
  /** Sync a new image (nothing of it at the destination yet) from a layout through the proxy into serve. */
  async function syncIntoServe(rules: FaultRule[], repository: string) {
    serveProxy.rules = rules;
    serveProxy.log.length = 0;
    const layout = join(work, `layout-${repository.replaceAll("/", "-")}`);
    const fresh = await generateImage({ name: `example.com/${repository}:1.0`, seed: repository, layers: 2, layerSize: 120_000 });
    await writeOciLayout(layout, [fresh]);
    const source = await openSource(`oci:${layout}`);
    const destination = await openDestination(serveProxy.host, { registry: FAST });
    const summary = await syncImages(source, destination, { retry: { baseDelayMs: 20 } });
    const head = await fetch(`${serve.url}/v2/${repository}/manifests/1.0`, { method: "HEAD" });
    return { summary, digest: fresh.descriptor.digest, tagged: head.status === 200 ? head.headers.get("docker-content-digest") : undefined, faults: serveProxy.log.filter((l) => l.fault).length };
  }

  test.each([
    ["503 on the blob upload, twice", [{ method: "PUT", path: /\/blobs\/uploads\//, times: 2, fault: { kind: "status", status: 503 } }]],
    ["the connection dropped during the upload", [{ method: "PUT", path: /\/blobs\/uploads\//, times: 1, fault: { kind: "reset", afterBytes: 30_000 } }]],
    ["503 on starting an upload", [{ method: "POST", path: /\/blobs\/uploads\//, times: 1, fault: { kind: "status", status: 503 } }]],
    ["500 on the manifest PUT, once", [{ method: "PUT", path: /\/manifests\//, times: 1, fault: { kind: "status", status: 500 } }]],
  ] as const)("%s: retried, the image lands whole", async (name, rules) => {
    const repository = `dest/${name.replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "")}`;
    const result = await syncIntoServe(rules as unknown as FaultRule[], repository);
    expect({ failures: result.summary.failures, tagged: result.tagged }).toEqual({ failures: [], tagged: result.digest });
    expect(result.faults).toBeGreaterThan(0);
    await new PushClient(serve.url).pullImage(repository, "1.0", result.digest);
  });

  test("the manifest PUT always fails: the image fails, the registry has no tag", async () => {
    const result = await syncIntoServe([{ method: "PUT", path: /\/manifests\//, fault: { kind: "status", status: 500 } }], "dest/never");
    expect(result.summary.images.failed).toBe(1);
    expect(result.summary.failures[0]!.error).toMatch(/manifest|tag/i);
    expect(result.tagged).toBeUndefined();
  });
});
