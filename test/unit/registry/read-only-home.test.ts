/** The registry over a home that can only be read: pulls work, writes are UNSUPPORTED. */
import { expect, test } from "bun:test";
import type { ImageReader } from "../../../src/oci/index.ts";
import { createRegistryApp } from "../../../src/registry/index.ts";
import { generateImage } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { pushTree } from "../../helpers/home-contract.ts";
import { errorCode } from "./harness.ts";

test("a read-only home serves manifests and blobs; writes, uploads and deletes are 405", async () => {
  const memory = new MemoryHome();
  const image = await generateImage({ seed: "ro" });
  await pushTree(memory, "acme/app", image, "1.0");
  // Only the reader half: no putBlob, no uploads, no deletes, no referrers.
  const reader: ImageReader = {
    description: "read-only",
    resolve: (r, ref) => memory.resolve(r, ref),
    manifest: (r, ref) => memory.manifest(r, ref),
    blob: (r, d) => memory.blob(r, d),
    statBlob: (r, d) => memory.statBlob(r, d),
    hasManifest: (r, d) => memory.hasManifest(r, d),
    repositories: (o) => memory.repositories(o),
    tags: (r, o) => memory.tags(r, o),
  };
  const app = createRegistryApp(reader);
  const get = await app.request("/v2/acme/app/manifests/1.0");
  expect(get.status).toBe(200);
  expect(new Uint8Array(await get.arrayBuffer())).toEqual(image.bytes);
  const layer = image.blobs[1]!;
  const blob = await app.request(`/v2/acme/app/blobs/${layer.descriptor.digest}`, { headers: { Range: "bytes=0-9" } });
  expect(blob.status).toBe(206);
  expect(new Uint8Array(await blob.arrayBuffer())).toEqual(layer.bytes.subarray(0, 10));
  expect(await (await app.request("/v2/acme/app/tags/list")).json()).toEqual({ name: "acme/app", tags: ["1.0"] });
  expect(await (await app.request("/v2/_catalog")).json()).toEqual({ repositories: ["acme/app"] });
  const referrers = await app.request(`/v2/acme/app/referrers/${image.descriptor.digest}`);
  expect(((await referrers.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  for (const [path, method] of [
    ["/v2/acme/app/blobs/uploads/", "POST"],
    ["/v2/acme/app/manifests/2.0", "PUT"],
    ["/v2/acme/app/manifests/1.0", "DELETE"],
    [`/v2/acme/app/blobs/${layer.descriptor.digest}`, "DELETE"],
  ] as const) {
    const res = await app.request(path, { method, ...(method === "PUT" ? { body: image.bytes } : {}) });
    expect([path, method, res.status, await errorCode(res)]).toEqual([path, method, 405, "UNSUPPORTED"]);
  }
});
