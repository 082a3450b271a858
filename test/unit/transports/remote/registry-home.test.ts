import { expect, test } from "bun:test";
import { digestOf } from "../../../../src/digest/index.ts";
import { canDelete, canListReferrers, canMount, isClosable, isWritable, MediaType, OciError } from "../../../../src/oci/index.ts";
import { openRegistry } from "../../../../src/transports/remote/index.ts";
import { fakeServer, json } from "../../client/fake-server.ts";
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

test("putBlob holds the declared size: right bytes under a wrong size are SIZE_INVALID and never visible", async () => {
  using registry = miniRegistry();
  const home = openRegistry(registry.host, fast);
  const data = crypto.getRandomValues(new Uint8Array(2000));
  const digest = digestOf(data);
  for (const body of [() => new Blob([data]), () => new Blob([data]).stream()]) {
    for (const size of [1999, 2001]) {
      const error = await home.putBlob("app", { digest, size }, body()).catch((e) => e);
      expect([error instanceof OciError, error.code]).toEqual([true, "SIZE_INVALID"]);
      expect(await home.statBlob("app", digest)).toBeUndefined();
    }
  }
  expect(registry.uploads.size).toBe(0);
  await home.putBlob("app", { digest, size: 2000 }, new Blob([data]).stream());
  expect(await home.statBlob("app", digest)).toBe(2000);
});

test("tags and repositories keep last and limit against a registry that ignores n and last", async () => {
  // distribution 2.8 answers every tag, in storage order, whatever the query says.
  using registry = fakeServer((_request, _body, url) =>
    url.pathname === "/v2/_catalog" ? json({ repositories: ["b", "a", "c"] }) : json({ name: "app", tags: ["latest", "v1", "1.0", "v2"] }),
  );
  const home = openRegistry(registry.host, fast);
  expect(await home.tags("app")).toEqual(["1.0", "latest", "v1", "v2"]);
  expect(await home.tags("app", { limit: 2 })).toEqual(["1.0", "latest"]);
  expect(await home.tags("app", { last: "1.0", limit: 2 })).toEqual(["latest", "v1"]);
  expect(await home.tags("app", { last: "v2" })).toEqual([]);
  expect(await home.repositories({ limit: 1 })).toEqual(["a"]);
  expect(await home.repositories({ last: "a" })).toEqual(["b", "c"]);
});

test("an invalid repository name is NAME_INVALID at once, with no request", async () => {
  using registry = miniRegistry();
  const home = openRegistry(registry.host, fast);
  const data = new TextEncoder().encode("x");
  for (const name of ["localhost:5000/x", "Acme/app", "acme//app", ""]) {
    for (const call of [
      () => home.tags(name),
      () => home.resolve(name, "1"),
      () => home.statBlob(name, digestOf(data)),
      () => home.putBlob(name, { digest: digestOf(data), size: 1 }, new Blob([data])),
      () => home.mountBlob("app", name, digestOf(data)),
    ]) {
      const error = await call().catch((e) => e);
      expect([error instanceof OciError, error.code]).toEqual([true, "NAME_INVALID"]);
    }
  }
  expect(registry.requests).toEqual([]);
});
