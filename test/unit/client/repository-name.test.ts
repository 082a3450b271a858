/** Repository names are checked before any request; a refused name is never retried. */
import { describe, expect, test } from "bun:test";
import { RegistryClient, repositoryNameProblem } from "../../../src/client/index.ts";
import { digestOf } from "../../../src/digest/index.ts";
import { MediaType, OciError } from "../../../src/oci/index.ts";
import { fakeServer, json, ociError } from "./fake-server.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, certDirs: [], env: {} };
const data = new TextEncoder().encode("layer");
const digest = digestOf(data);

describe("the grammar", () => {
  test("repository paths on a registry are accepted", () => {
    for (const name of ["a", "acme/app", "library/nginx", "a.b/c_d/e--f", "x__y", "localhost/app", "a/b/c/d/e", "a".repeat(255)]) {
      expect([name, repositoryNameProblem(name)]).toEqual([name, undefined]);
    }
  });

  test("what is wrong is said", () => {
    expect(
      Object.fromEntries(["localhost:5000/x", "registry.example.com:443/acme/app", "Acme/app", "acme//app", "acme/app/", "-app", "app:1.0", "", "a".repeat(256)].map((n) => [n.slice(0, 20), repositoryNameProblem(n)])),
    ).toEqual({
      "localhost:5000/x": '"localhost:5000" looks like a registry host; give the repository path on the registry (e.g. acme/app)',
      "registry.example.com": '"registry.example.com:443" looks like a registry host; give the repository path on the registry (e.g. acme/app)',
      "Acme/app": "repository names are lowercase",
      "acme//app": "expected path components of [a-z0-9] joined by separators (., _, __, -), separated by /",
      "acme/app/": "expected path components of [a-z0-9] joined by separators (., _, __, -), separated by /",
      "-app": "expected path components of [a-z0-9] joined by separators (., _, __, -), separated by /",
      "app:1.0": "expected path components of [a-z0-9] joined by separators (., _, __, -), separated by /",
      "": "the name is empty",
      aaaaaaaaaaaaaaaaaaaa: "the name has 256 characters, more than 255",
    });
  });
});

describe("the client", () => {
  test("every operation refuses an invalid name with NAME_INVALID before sending anything", async () => {
    using server = fakeServer(() => json({}));
    const client = RegistryClient.open(server.host, fast);
    const name = "localhost:5000/x";
    const calls: (() => Promise<unknown>)[] = [
      () => client.tags(name),
      () => client.headManifest(name, "1"),
      () => client.getManifest(name, "1"),
      () => client.putManifest(name, "1", { bytes: data, mediaType: MediaType.ociManifest }),
      () => client.deleteManifest(name, digest),
      () => client.headBlob(name, digest),
      () => client.getBlob(name, digest),
      () => client.startUpload(name),
      () => client.uploadBlob(name, { digest, size: data.byteLength }, data),
      () => client.mountBlob(name, "acme/app", digest),
      () => client.mountBlob("acme/app", name, digest),
      () => client.deleteBlob(name, digest),
      () => client.referrers(name, digest),
    ];
    for (const call of calls) {
      const error = (await call().catch((e: unknown) => e)) as OciError;
      expect([error instanceof OciError, error.code, error.status]).toEqual([true, "NAME_INVALID", 400]);
    }
    const error = await client.tags(name).catch((e) => e);
    expect(error.message).toBe(
      `Invalid repository name "localhost:5000/x" for registry ${server.host}: "localhost:5000" looks like a registry host; give the repository path on the registry (e.g. acme/app)`,
    );
    expect(server.requests).toEqual([]);
  });

  test("a registry that refuses a name with 400 is asked once", async () => {
    using server = fakeServer((request, _body, url) => (url.pathname === "/v2/" ? json({}) : ociError(400, "NAME_INVALID", "invalid repository name")));
    const client = RegistryClient.open(`http://${server.host}`, fast);
    expect((await client.tags("acme/app").catch((e) => e)).code).toBe("NAME_INVALID");
    expect((await client.uploadBlob("acme/app", { digest, size: data.byteLength }, new Blob([data])).catch((e) => e)).code).toBe("NAME_INVALID");
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /v2/acme/app/tags/list?n=1000", "POST /v2/acme/app/blobs/uploads/"]);
  });

  test("a session that cannot be opened is retried by the transport only, not again per upload attempt", async () => {
    using server = fakeServer(() => ociError(500, "UNKNOWN", "storage trouble"));
    const client = RegistryClient.open(`http://${server.host}`, { ...fast, retry: { attempts: 3, baseDelayMs: 1 } });
    const error = await client.uploadBlob("acme/app", { digest, size: data.byteLength }, new Blob([data])).catch((e) => e);
    expect([error.code, error.message]).toEqual(["UNKNOWN", `Cannot start an upload to ${server.host}/acme/app: storage trouble (HTTP 500)`]);
    expect(server.requests.length).toBe(3);
  });
});
