/**
 * A source that stalls mid-blob (headers and a few bytes, then silence):
 * the idle timeout cuts the transfer and sync tries the blob again; a peer
 * that always stalls fails the image clearly, and nothing is tagged. Slow
 * by nature: Bun's fetch idle timeout fires about 8 s after the last byte
 * whatever shorter value it is given, hence here and not in npm test.
 * (The other peer faults are in test/integration/reliability/sync-faults.test.ts.)
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "../../src/digest/index.ts";
import { Store } from "../../src/store/index.ts";
import { syncImages } from "../../src/sync/index.ts";
import { openDestination, openSource } from "../../src/transports/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../helpers/docker-registry.ts";
import { type FaultProxy, type FaultRule, startFaultProxy } from "../helpers/fault-proxy.ts";
import { generateImage } from "../helpers/images.ts";
import { PushClient } from "../helpers/push-client.ts";

let work: string;
let upstream: DockerRegistry;
let proxy: FaultProxy;
let layer: Digest;
let digest: Digest;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-sync-stall-"));
  upstream = await startDockerRegistry();
  proxy = await startFaultProxy(upstream.url);
  const image = await generateImage({ seed: "sync-stall", layers: 1, layerSize: 200_000 });
  await new PushClient(upstream.url).pushImage("stall/app", "1.0", image, "post-put");
  layer = image.blobs.at(-1)!.descriptor.digest;
  digest = image.descriptor.digest;
});
afterAll(async () => {
  await Promise.all([proxy?.stop(), upstream?.stop()]);
  rmSync(work, { recursive: true, force: true });
});

async function run(rules: FaultRule[], name: string) {
  proxy.rules = rules;
  const root = join(work, name);
  const started = performance.now();
  const source = await openSource(`docker://${proxy.host}/stall/app:1.0`, { registry: { idleTimeoutMs: 1_000, retry: { baseDelayMs: 20 } } });
  const destination = await openDestination(`store:${root}`);
  try {
    const summary = await syncImages(source, destination, { retry: { baseDelayMs: 20 } });
    const tagged = await (destination.home as Store).resolve("stall/app", "1.0").then(
      (d) => d.digest,
      () => undefined,
    );
    return { summary, tagged, seconds: (performance.now() - started) / 1000 };
  } finally {
    await (destination.home as Store).close();
  }
}

test("a stall once: the idle timeout cuts it, the blob is fetched again, the image lands", async () => {
  const result = await run([{ method: "GET", path: new RegExp(`/blobs/${layer}$`), times: 1, fault: { kind: "stall", bytes: 10_000 } }], "once");
  expect({ failures: result.summary.failures, tagged: result.tagged }).toEqual({ failures: [], tagged: digest });
  console.log(`sync-stall: recovered from a stall in ${result.seconds.toFixed(1)} s`);
});

test("always stalls: the image fails naming the blob and the timeout; nothing is tagged", async () => {
  const result = await run([{ method: "GET", path: new RegExp(`/blobs/${layer}$`), fault: { kind: "stall", bytes: 1_000 } }], "always");
  expect(result.summary.images.failed).toBe(1);
  expect(result.summary.failures[0]!.error).toContain(layer);
  expect(result.summary.failures[0]!.error).toMatch(/timed out/i);
  expect(result.tagged).toBeUndefined();
  console.log(`sync-stall: gave up on a peer that always stalls after ${result.seconds.toFixed(1)} s: ${result.summary.failures[0]!.error}`);
});
