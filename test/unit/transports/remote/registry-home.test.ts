import { expect, test } from "bun:test";
import { digestOf } from "../../../../src/digest/index.ts";
import { canDelete, canListReferrers, canMount, isClosable, isWritable, MediaType, OciError } from "../../../../src/oci/index.ts";
import { openRegistry } from "../../../../src/transports/remote/index.ts";
import { miniRegistry } from "../../client/mini-registry.ts";

const fast = { retry: { baseDelayMs: 1 }, certDirs: [], env: {} };

test("has every optional capability and names itself docker://HOST", () => {
  const home = openRegistry("localhost:5000", fast);
  expect([isWritable(home), canMount(home), canListReferrers(home), canDelete(home), isClosable(home)]).toEqual([true, true, true, true, true]);
  expect(home.description).toBe("docker://localhost:5000");
});

test("blob: HEAD for the size, then a lazy stream per call (ranges too); unknown blobs are BLOB_UNKNOWN", async () => {
  using registry = miniRegistry();
  const home = openRegistry(registry.host, fast);
  const data = crypto.getRandomValues(new Uint8Array(3000));
  const digest = digestOf(data);
  await home.putBlob("app", { digest, size: 3000 }, new Blob([data]));
  const content = await home.blob("app", digest);
  expect(content.size).toBe(3000);
  expect(new Uint8Array(await new Response(content.stream()).arrayBuffer())).toEqual(data);
  expect(new Uint8Array(await new Response(content.stream({ start: 5, end: 9 })).arrayBuffer())).toEqual(data.subarray(5, 9));
  expect(await home.statBlob("app", digest)).toBe(3000);
  const error = await home.blob("app", digestOf("none")).catch((e) => e);
  expect([error instanceof OciError, error.code]).toEqual([true, "BLOB_UNKNOWN"]);
  expect((await home.resolve("app", "nope").catch((e) => e)).code).toBe("MANIFEST_UNKNOWN");
});

test("a mount answered with 202 hands its session to the next putBlob of that blob", async () => {
  using registry = miniRegistry();
  const home = openRegistry(registry.host, fast);
  const data = new TextEncoder().encode("layer");
  const digest = digestOf(data);
  expect(await home.mountBlob("app", "base", digest)).toBe(false);
  await home.putBlob("app", { digest }, new Blob([data]));
  expect(registry.requests.filter((r) => r.method === "POST").length).toBe(1);
  expect(await home.mountBlob("other", "app", digest)).toBe(true);
});

test("manifests round-trip as exact bytes; tags sorted; delete", async () => {
  using registry = miniRegistry();
  const home = openRegistry(registry.host, fast);
  const config = new TextEncoder().encode("{}");
  await home.putBlob("app", { digest: digestOf(config) }, new Blob([config]));
  const bytes = new TextEncoder().encode(
    `{"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","config":{"mediaType":"${MediaType.ociConfig}","digest":"${digestOf(config)}","size":2},"layers":[]}`,
  );
  const digest = await home.putManifest("app", "b", { bytes, mediaType: MediaType.ociManifest });
  await home.putManifest("app", "a", { bytes, mediaType: MediaType.ociManifest });
  expect(await home.resolve("app", "a")).toEqual({ mediaType: MediaType.ociManifest, digest, size: bytes.byteLength });
  expect((await home.manifest("app", digest)).bytes).toEqual(bytes);
  expect(await home.hasManifest("app", digest)).toBe(true);
  expect(await home.tags("app")).toEqual(["a", "b"]);
  expect(await home.repositories()).toEqual(["app"]);
});
