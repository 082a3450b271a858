/**
 * gc's delete of a blob against a push that needs it, from two store
 * instances (two processes' connections) on PostgreSQL and Ceph RGW: the
 * database's locks decide, and whichever wins, no manifest or link is left
 * pointing at bytes that are gone.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { OciError } from "../../src/oci/index.ts";
import type { Store } from "../../src/store/index.ts";
import { blob, configBlob, imageManifest } from "../unit/store/fixtures.ts";
import { openSharedStore, sharedStoreLocation } from "../helpers/test-store.ts";

let gcSide: Store;
let pushSide: Store;

beforeAll(async () => {
  const location = await sharedStoreLocation();
  [gcSide, pushSide] = await Promise.all([openSharedStore(location), openSharedStore(location)]);
}, 600_000);

afterAll(async () => {
  await gcSide?.close();
  await pushSide?.close();
});

/** Far enough ahead that everything recorded now is past gc's grace window. */
const later = () => Date.now() + 3_600_000;


async function whole(store: Store, repository: string, digest: Parameters<Store["blob"]>[1]): Promise<boolean> {
  const size = await store.statBlob(repository, digest);
  return size !== undefined && (await store.driver.stat(digest))?.size === size;
}

test("gc deleting a blob while a manifest that references it is pushed: the manifest is refused or the blob stays", async () => {
  const outcomes = new Set<string>();
  for (let i = 0; i < 12; i++) {
    const layer = blob(`race layer ${i} `.repeat(50));
    const config = configBlob();
    const manifest = imageManifest(config, [layer]);
    for (const b of [config, layer]) await pushSide.putBlob("race/app", b, new Blob([b.bytes]));
    const [deleted, pushed] = await Promise.allSettled([
      gcSide.deleteBlobIfUnreferenced(layer.digest, 0, later()),
      pushSide.putManifest("race/app", `t${i}`, manifest),
    ]);
    if (pushed.status === "fulfilled") {
      // The manifest is in: its blob must be whole, and gc must have kept it.
      expect([i, deleted.status === "fulfilled" && deleted.value]).toEqual([i, false]);
      expect(await whole(gcSide, "race/app", layer.digest)).toBe(true);
      outcomes.add("kept");
    } else {
      expect(OciError.is(pushed.reason, "MANIFEST_BLOB_UNKNOWN")).toBe(true);
      expect(await pushSide.statBlob("race/app", layer.digest)).toBeUndefined();
      expect(await pushSide.driver.stat(layer.digest)).toBeUndefined();
      outcomes.add("refused");
    }
    await gcSide.deleteManifest("race/app", manifest.digest).catch(() => undefined);
  }
  expect(outcomes.size).toBeGreaterThan(0);
});

test("gc deleting a blob while the same bytes are pushed again: the push is refused (503) or the blob stays", async () => {
  const layers = Array.from({ length: 12 }, (_, i) => blob(`again ${i} `.repeat(40)));
  for (const layer of layers) await pushSide.putBlob("again/app", layer, new Blob([layer.bytes]));
  // Older than the grace window, and no manifest references them: gc's to take, unless a push links them again first.
  const graceMs = 300;
  await Bun.sleep(graceMs + 50);
  const outcomes = new Set<string>();
  for (const layer of layers) {
    const [deleted, pushed] = await Promise.allSettled([
      gcSide.deleteBlobIfUnreferenced(layer.digest, graceMs),
      pushSide.putBlob("again/app", layer, new Blob([layer.bytes])),
    ]);
    if (pushed.status === "rejected") {
      expect(OciError.is(pushed.reason, "UNAVAILABLE")).toBe(true);
      outcomes.add("refused");
    } else {
      // Acknowledged: the bytes are there, whether gc went first (and the push stored them anew) or the push's fresh link kept them.
      expect([layer.digest, await whole(pushSide, "again/app", layer.digest)]).toEqual([layer.digest, true]);
      outcomes.add(deleted.status === "fulfilled" && deleted.value ? "stored again" : "kept");
    }
  }
  expect(outcomes.size).toBeGreaterThan(0);
});
