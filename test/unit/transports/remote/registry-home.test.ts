import { describe, expect, test } from "bun:test";
import { digestOf } from "../../../../src/digest/index.ts";
import { canDelete, canListReferrers, canMount, canSendBlobs, isClosable, isWritable, MediaType, OciError } from "../../../../src/oci/index.ts";
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

describe("sendBlob: a file body with progress", () => {
  const estimate = { intervalMs: 10, cap: 0.95, learnFrom: 1000 };
  /** A registry that answers each blob PUT after `ms`, as over a slow link; PUTs after the first `good` are DIGEST_INVALID. */
  function slowRegistry(ms: number, good = Number.POSITIVE_INFINITY) {
    let puts = 0;
    return fakeServer(async (request, _body, url) => {
      if (request.method === "POST") return new Response(null, { status: 202, headers: { location: `${url.pathname}1` } });
      if (request.method !== "PUT") return json({});
      await Bun.sleep(ms);
      if (++puts > good) return json({ errors: [{ code: "DIGEST_INVALID", message: "digest did not match" }] }, { status: 400 });
      return new Response(null, { status: 201 });
    });
  }

  test("one request, sent whole; once an upload taught the rate, bytes are estimated while it runs, then settled", async () => {
    using registry = slowRegistry(150);
    const home = openRegistry(registry.host, { ...fast, progressEstimate: estimate });
    expect(canSendBlobs(home)).toBe(true);
    const first = crypto.getRandomValues(new Uint8Array(30_000));
    const firstProgress: [number, boolean][] = [];
    await home.sendBlob("app", { digest: digestOf(first), size: first.byteLength }, new Blob([first]), (n, e) => firstProgress.push([n, e]));
    // No rate known yet: nothing until the registry answers.
    expect(firstProgress).toEqual([[30_000, false]]);

    const second = crypto.getRandomValues(new Uint8Array(60_000));
    const progress: [number, boolean][] = [];
    await home.sendBlob("app", { digest: digestOf(second), size: second.byteLength }, new Blob([second]), (n, e) => progress.push([n, e]));
    const estimated = progress.filter(([, e]) => e).map(([n]) => n);
    expect(estimated.length).toBeGreaterThan(1);
    expect(estimated.every((n) => n > 0)).toBe(true);
    expect(estimated.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(60_000 * 0.95);
    expect(progress.at(-1)![1]).toBe(false);
    expect(progress.reduce((a, [n]) => a + n, 0)).toBe(60_000);
    expect(registry.requests.filter((r) => r.path.includes("/blobs/")).map((r) => r.method)).toEqual(["POST", "PUT", "POST", "PUT"]);
  });

  test("a failed upload takes back what was estimated", async () => {
    using registry = slowRegistry(100, 1);
    const home = openRegistry(registry.host, { ...fast, progressEstimate: estimate });
    const first = crypto.getRandomValues(new Uint8Array(20_000));
    await home.sendBlob("app", { digest: digestOf(first), size: first.byteLength }, new Blob([first]), () => {});
    const data = crypto.getRandomValues(new Uint8Array(20_000));
    const progress: number[] = [];
    const error = await home.sendBlob("app", { digest: digestOf(data), size: data.byteLength }, new Blob([data]), (n) => progress.push(n)).catch((e) => e);
    expect([error instanceof OciError, error.code]).toEqual([true, "DIGEST_INVALID"]);
    expect(progress.filter((n) => n > 0).length).toBeGreaterThan(0);
    expect(progress.reduce((a, b) => a + b, 0)).toBe(0);
  });

  test("with chunked uploads configured, each chunk the registry confirms is the progress", async () => {
    using registry = miniRegistry();
    const home = openRegistry(registry.host, { ...fast, upload: { chunkSize: 1000 }, progressEstimate: estimate });
    const data = crypto.getRandomValues(new Uint8Array(2500));
    const progress: [number, boolean][] = [];
    await home.sendBlob("app", { digest: digestOf(data), size: 2500 }, new Blob([data]), (n, e) => progress.push([n, e]));
    expect(progress).toEqual([
      [1000, false],
      [1000, false],
      [500, false],
    ]);
  });

  test("the session a mount opened is used", async () => {
    using registry = miniRegistry();
    const home = openRegistry(registry.host, fast);
    const data = crypto.getRandomValues(new Uint8Array(5000));
    const digest = digestOf(data);
    expect(await home.mountBlob("app", "base", digest)).toBe(false);
    await home.sendBlob("app", { digest, size: 5000 }, new Blob([data]), () => {});
    expect(registry.requests.filter((r) => r.method === "POST").length).toBe(1);
    expect(await home.statBlob("app", digest)).toBe(5000);
  });
});
