import { describe, expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { MediaType, OciError } from "../../../src/oci/index.ts";
import { fakeServer, json, ociError } from "./fake-server.ts";
import { miniRegistry } from "./mini-registry.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 50 }, certDirs: [], env: {} };
const bytes = (text: string) => new TextEncoder().encode(text);
const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const text = (stream: ReadableStream<Uint8Array>) => new Response(stream).text();

function manifestFor(config: Uint8Array) {
  return bytes(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: digestOf(config), size: config.byteLength },
      layers: [],
    }),
  );
}

describe("manifests", () => {
  test("put exact bytes, then HEAD and GET by tag and digest", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const manifest = manifestFor(bytes("{}"));
    const digest = await client.putManifest("app/web", "1.0", { bytes: manifest, mediaType: MediaType.ociManifest });
    expect(digest).toBe(digestOf(manifest));
    expect(await client.headManifest("app/web", "1.0")).toEqual({ mediaType: MediaType.ociManifest, digest, size: manifest.byteLength });
    const byTag = await client.getManifest("app/web", "1.0");
    expect(byTag).toEqual({ digest, mediaType: MediaType.ociManifest, bytes: manifest });
    expect((await client.getManifest("app/web", digest)).bytes).toEqual(manifest);
    expect(await client.headManifest("app/web", "nope")).toBeUndefined();
    const missing = await client.getManifest("app/web", "nope").catch((e) => e);
    expect(missing).toBeInstanceOf(OciError);
    expect(missing.code).toBe("MANIFEST_UNKNOWN");
    expect(missing.message).toContain(`${registry.host}/app/web:nope`);
  });

  test("bytes that do not match the digest asked for are refused", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const real = manifestFor(bytes("{}"));
    const digest = await client.putManifest("app", "t", { bytes: real, mediaType: MediaType.ociManifest });
    registry.fault((_r, url) =>
      url.pathname.endsWith(digest) ? new Response(manifestFor(bytes("[]")), { headers: { "content-type": MediaType.ociManifest } }) : undefined,
    );
    const error = await client.getManifest("app", digest).catch((e) => e);
    expect(error.code).toBe("DIGEST_INVALID");
  });

  test("a schema1 manifest is refused with a clear message", async () => {
    using server = fakeServer(() => new Response('{"schemaVersion":1}', { headers: { "content-type": MediaType.dockerSchema1Signed } }));
    const error = await RegistryClient.open(server.host, fast).getManifest("old", "v1").catch((e) => e);
    expect(error.code).toBe("MANIFEST_INVALID");
    expect(error.message).toContain("schema1");
  });
});

describe("blobs", () => {
  test("monolithic upload: POST then one PUT ?digest= carrying the body", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(100_000);
    const digest = digestOf(data);
    await client.uploadBlob("app", { digest, size: data.byteLength }, new Blob([data]));
    expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
    const calls = registry.requests.filter((r) => r.path.includes("/blobs/")).map((r) => `${r.method} ${r.body.byteLength}`);
    expect(calls).toEqual(["POST 0", "PUT 100000"]);
    expect(registry.requests.at(-1)!.path).toContain(`digest=${encodeURIComponent(digest)}`);
    expect(await client.headBlob("app", digest)).toBe(100_000);
    expect(await client.headBlob("other", digest)).toBeUndefined();
    expect(new Uint8Array(await new Response(await client.getBlob("app", digest)).arrayBuffer())).toEqual(data);
    expect(new Uint8Array(await new Response(await client.getBlob("app", digest, { start: 10, end: 20 })).arrayBuffer())).toEqual(data.subarray(10, 20));
  });

  test("a GET held to the blob's size: the length announced must be it, a body without one is cut off past it", async () => {
    const data = randomBytes(10_000);
    const digest = digestOf(data);
    using server = fakeServer((_r, _b, url) => {
      if (url.pathname.startsWith("/v2/chunked/")) {
        return new Response(new Blob([data, randomBytes(100)]).stream().pipeThrough(new TransformStream()));
      }
      return new Response(data);
    });
    const client = RegistryClient.open(server.host, fast);
    expect(new Uint8Array(await new Response(await client.getBlob("app", digest, undefined, { size: 10_000 })).arrayBuffer())).toEqual(data);
    const announced = await client.getBlob("app", digest, undefined, { size: 9_999 }).catch((e) => e);
    expect({ code: announced.code, message: announced.message }).toEqual({
      code: "SIZE_INVALID",
      message: `${server.host}/app@${digest}: the registry sends 10000 bytes for a blob of 9999`,
    });
    const chunked = await client.getBlob("chunked", digest, undefined, { size: 10_000 });
    const cut = await new Response(chunked).arrayBuffer().catch((e) => e);
    expect({ code: cut.code, message: cut.message }).toEqual({
      code: "SIZE_INVALID",
      message: `${server.host}/chunked@${digest}: the registry sends more than the blob's 10000 bytes`,
    });
  });

  test("a stream body is sent once, with its declared length", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(5000);
    await client.uploadBlob("app", { digest: digestOf(data), size: 5000 }, new Blob([data]).stream());
    const put = registry.requests.find((r) => r.method === "PUT")!;
    expect(put.headers["content-length"]).toBe("5000");
  });

  test("single-request POST ?digest=", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(1000);
    await client.uploadBlob("app", { digest: digestOf(data), size: 1000 }, data, { monolithicPost: true });
    expect(registry.requests.filter((r) => r.path.includes("/blobs/")).map((r) => r.method)).toEqual(["POST"]);
    expect(registry.blobs.has(`app@${digestOf(data)}`)).toBe(true);
  });

  test("a wrong digest is the registry's DIGEST_INVALID, without endless re-uploads", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const error = await client.uploadBlob("app", { digest: digestOf("other"), size: 3 }, bytes("abc")).catch((e) => e);
    expect(error.code).toBe("DIGEST_INVALID");
    expect(registry.requests.filter((r) => r.method === "PUT").length).toBe(1);
  });

  test("chunked upload honours OCI-Chunk-Min-Length and uses each new Location", async () => {
    using registry = miniRegistry({ chunkMin: 4000 });
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(10_000);
    const digest = digestOf(data);
    await client.uploadBlob("app", { digest, size: data.byteLength }, new Blob([data]), { chunkSize: 1000 });
    const patches = registry.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.headers["content-range"])).toEqual(["0-3999", "4000-7999", "8000-9999"]);
    expect(patches.map((r) => new URL(r.path, "http://x").searchParams.get("_state"))).toEqual(["1", "4000", "8000"]);
    expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
  });

  test("chunked upload of a stream keeps one chunk in memory and resumes after a 416", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(3000);
    const digest = digestOf(data);
    let lost = false;
    // The registry takes the first chunk but the answer is lost: the client resends it and gets 416.
    registry.fault((request) => {
      if (request.method === "PATCH" && request.headers.get("content-range") === "1000-1999" && !lost) {
        lost = true;
        const upload = [...registry.uploads.values()][0]!;
        upload.data = Buffer.concat([upload.data, data.subarray(1000, 1500)]);
        return new Response(null, { status: 416 });
      }
      return undefined;
    });
    await client.uploadBlob("app", { digest, size: 3000 }, new Blob([data]).stream(), { chunkSize: 1000 });
    const ranges = registry.requests.filter((r) => r.method === "PATCH").map((r) => r.headers["content-range"]);
    expect(ranges).toEqual(["0-999", "1000-1999", "1500-1999", "2000-2999"]);
    expect(registry.requests.filter((r) => r.method === "GET" && r.path.includes("/uploads/")).length).toBe(1);
    expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
  });

  test("a PUT that fails half-way resumes from the offset the registry reports", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = randomBytes(4000);
    const digest = digestOf(data);
    let failed = false;
    registry.fault((request) => {
      if (request.method === "PUT" && !failed) {
        failed = true;
        // Part of the body landed before the server fell over.
        const upload = [...registry.uploads.values()][0]!;
        upload.data = data.subarray(0, 2500);
        return new Response("boom", { status: 500 });
      }
      return undefined;
    });
    const opened: number[] = [];
    await client.uploadBlob("app", { digest, size: 4000 }, (offset) => {
      opened.push(offset);
      return new Blob([data]).slice(offset);
    });
    expect(opened).toEqual([0, 2500]);
    expect(registry.blobs.get(`app@${digest}`)).toEqual(data);
  });

  test("mount: 201 when the source repository has the blob, else the 202 session is handed back", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const data = bytes("shared layer");
    const digest = digestOf(data);
    await client.uploadBlob("base", { digest }, data);
    expect(await client.mountBlob("app", "base", digest)).toEqual({ mounted: true });
    expect(registry.blobs.has(`app@${digest}`)).toBe(true);
    const other = bytes("not there");
    const result = await client.mountBlob("app2", "base", digestOf(other));
    expect(result.mounted).toBe(false);
    if (result.mounted || !result.session) throw new Error("expected a session");
    await client.uploadBlob("app2", { digest: digestOf(other) }, other, { session: result.session });
    expect(registry.requests.filter((r) => r.method === "POST").length).toBe(3);
    expect(registry.blobs.has(`app2@${digestOf(other)}`)).toBe(true);
  });
});

describe("lists", () => {
  test("catalog and tags follow Link pagination; limit and last", async () => {
    using registry = miniRegistry({ pageSize: 2 });
    const client = RegistryClient.open(registry.host, fast);
    const manifest = manifestFor(bytes("{}"));
    for (const repo of ["e", "a", "c", "b", "d"]) await client.putManifest(repo, "1", { bytes: manifest, mediaType: MediaType.ociManifest });
    for (const tag of ["v3", "v1", "v2"]) await client.putManifest("a", tag, { bytes: manifest, mediaType: MediaType.ociManifest });
    expect(await client.repositories()).toEqual(["a", "b", "c", "d", "e"]);
    expect(registry.requests.filter((r) => r.path.startsWith("/v2/_catalog")).length).toBe(3);
    expect(await client.repositories({ limit: 3 })).toEqual(["a", "b", "c"]);
    expect(await client.repositories({ last: "c" })).toEqual(["d", "e"]);
    expect(await client.tags("a")).toEqual(["1", "v1", "v2", "v3"]);
    const error = await client.tags("zzz").catch((e) => e);
    expect(error.code).toBe("NAME_UNKNOWN");
  });
});

describe("referrers", () => {
  const subject = digestOf("subject");
  const descriptor = (artifactType: string) => ({ mediaType: MediaType.ociManifest, digest: digestOf(artifactType), size: 10, artifactType });

  test("the referrers API, filtered by artifact type when the registry did not", async () => {
    using server = fakeServer((_r, _b, url) =>
      url.pathname === `/v2/app/referrers/${subject}`
        ? json({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor("sig"), descriptor("sbom")] })
        : json({}),
    );
    const client = RegistryClient.open(server.host, fast);
    expect((await client.referrers("app", subject)).map((d) => d.artifactType)).toEqual(["sig", "sbom"]);
    expect((await client.referrers("app", subject, "sbom")).map((d) => d.artifactType)).toEqual(["sbom"]);
  });

  test("falls back to the sha256-<hex> tag when the registry has no referrers API", async () => {
    using registry = miniRegistry();
    const client = RegistryClient.open(registry.host, fast);
    expect(await client.referrers("app", subject)).toEqual([]);
    const index = bytes(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor("sig")] }));
    await client.putManifest("app", subject.replace(":", "-"), { bytes: index, mediaType: MediaType.ociIndex });
    expect(await client.referrers("app", subject)).toEqual([descriptor("sig") as never]);
  });
});

describe("retries", () => {
  test("503 with Retry-After, then success; the wait is honoured", async () => {
    let calls = 0;
    using server = fakeServer(() => (++calls <= 2 ? new Response("busy", { status: 503, headers: { "retry-after": "0" } }) : json({ repositories: ["x"] })));
    const client = RegistryClient.open(`http://${server.host}`, fast);
    expect(await client.repositories()).toEqual(["x"]);
    expect(calls).toBe(3);
  });

  test("Retry-After delays the next attempt", async () => {
    const times: number[] = [];
    using server = fakeServer(() => {
      times.push(performance.now());
      return times.length === 1 ? new Response(null, { status: 429, headers: { "retry-after": "1" } }) : json({ tags: [] });
    });
    const client = RegistryClient.open(`http://${server.host}`, { ...fast, retry: { baseDelayMs: 1, maxDelayMs: 5000 } });
    await client.tags("x");
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
  });

  test("gives up after the attempts, with the registry's error", async () => {
    let calls = 0;
    using server = fakeServer(() => {
      calls++;
      return ociError(503, "UNAVAILABLE", "maintenance");
    });
    const error = await RegistryClient.open(`http://${server.host}`, { ...fast, retry: { attempts: 3, baseDelayMs: 1 } }).repositories().catch((e) => e);
    expect(calls).toBe(3);
    expect(error.code).toBe("UNAVAILABLE");
    expect(error.message).toContain("maintenance");
  });

  test("never retries 404, 401 without a challenge, or 403", async () => {
    for (const status of [404, 401, 403]) {
      let calls = 0;
      using server = fakeServer(() => {
        calls++;
        return new Response(null, { status });
      });
      await RegistryClient.open(`http://${server.host}`, fast).tags("x").catch(() => undefined);
      expect(calls).toBe(1);
    }
  });

  test("a refused connection is a clear error naming the host", async () => {
    const server = fakeServer(() => json({}));
    const host = server.host;
    server.stop();
    const error = await RegistryClient.open(host, { ...fast, retry: { attempts: 2, baseDelayMs: 1 } }).repositories().catch((e) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(error.message).toBe(`Cannot reach registry ${host}: connection refused`);
  });

  test("a stream body is never sent twice", async () => {
    using registry = miniRegistry();
    let puts = 0;
    registry.fault((request) => (request.method === "PUT" && ++puts === 1 ? new Response(null, { status: 503 }) : undefined));
    const data = bytes("once");
    const error = await RegistryClient.open(registry.host, fast)
      .uploadBlob("app", { digest: digestOf(data) as Digest, size: 4 }, new Blob([data]).stream())
      .catch((e) => e);
    expect(error.code).toBe("UNAVAILABLE");
    expect(puts).toBe(1);
  });
});

describe("redirects", () => {
  test("a blob redirect to another host gets no credentials; same host keeps them", async () => {
    using storage = fakeServer(() => new Response("layer bytes"));
    const storageUrl = storage.url.replace("127.0.0.1", "localhost");
    using registry = fakeServer((request, _b, url) => {
      if (request.headers.get("authorization") !== `Basic ${btoa("me:pw")}`) {
        return new Response(null, { status: 401, headers: { "www-authenticate": 'Basic realm="r"' } });
      }
      if (url.pathname.startsWith("/v2/app/blobs/")) return Response.redirect(`${storageUrl}/bucket/blob?sig=1`, 307);
      if (url.pathname === "/v2/moved/tags/list") return Response.redirect("/v2/app/tags/list", 301);
      if (url.pathname === "/v2/app/tags/list") return json({ tags: ["1"] });
      return json({});
    });
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "pw" } });
    expect(await text(await client.getBlob("app", digestOf("x")))).toBe("layer bytes");
    expect(storage.requests[0]!.path).toBe("/bucket/blob?sig=1");
    expect(storage.requests[0]!.headers.authorization).toBeUndefined();
    expect(await client.tags("moved")).toEqual(["1"]);
    expect(registry.requests.at(-1)!.headers.authorization).toBe(`Basic ${btoa("me:pw")}`);
  });
});
