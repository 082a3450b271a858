/**
 * What clients send that SQLite takes and PostgreSQL refuses in text (a
 * NUL): the store answers as it does on SQLite, never a 500.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRegistryApp } from "../../src/registry/index.ts";
import type { Store } from "../../src/store/index.ts";
import { openSharedStore, sharedStoreLocation } from "../helpers/test-store.ts";
import { blob, configBlob, imageManifest } from "../unit/store/fixtures.ts";

let store: Store;

beforeAll(async () => {
  store = await openSharedStore(await sharedStoreLocation());
  const config = configBlob();
  const layer = blob("nul test layer");
  for (const b of [config, layer]) await store.putBlob("nul/a", b, new Blob([b.bytes]));
  await store.putManifest("nul/a", "1.0", imageManifest(config, [layer]));
}, 600_000);

afterAll(() => store?.close());

test("a NUL in last= or artifactType= pages and filters as on SQLite", async () => {
  const app = createRegistryApp(store);
  const get = async (path: string) => {
    const res = await app.request(path);
    return [res.status, await res.json()];
  };
  expect(await get("/v2/_catalog?n=10&last=%00")).toEqual([200, { repositories: ["nul/a"] }]);
  expect(await get("/v2/_catalog?n=10&last=nul%2Fa%00x")).toEqual([200, { repositories: [] }]);
  expect(await get("/v2/nul/a/tags/list?last=1%00")).toEqual([200, { name: "nul/a", tags: ["1.0"] }]);
  expect(await get("/v2/nul/a/tags/list?last=1.0%00")).toEqual([200, { name: "nul/a", tags: [] }]);
  const [status, body] = await get(`/v2/nul/a/referrers/sha256:${"a".repeat(64)}?artifactType=x%00y`);
  expect([status, (body as { manifests: unknown[] }).manifests]).toEqual([200, []]);
});
