/**
 * Tag and catalog listing: sorted, after `last`, at most `limit`, whatever
 * the registry does with `n` and `last` (distribution 2.8 ignores both on
 * tag lists), and paged through `Link` headers where the registry pages.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { digestOf } from "../../../src/digest/index.ts";
import { MediaType } from "../../../src/oci/index.ts";
import { createRegistryApp, listen, type RunningServer } from "../../../src/registry/index.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { fakeServer, json } from "./fake-server.ts";
import { miniRegistry } from "./mini-registry.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, certDirs: [], env: {} };
const TAGS = ["1.0", "docker", "latest", "v1", "v10", "v2", "v3"];
const REPOS = ["acme/app", "acme/b", "middle/x", "zeta/app"];
/** What distribution 2.8 answers for every tags/list query: all tags, in storage order, no Link. */
const STORAGE_ORDER = ["latest", "v1", "docker", "v2", "v10", "v3", "1.0"];

/** The cases the home contract asks of every home, against one client. */
async function expectListing(client: RegistryClient) {
  expect(await client.tags("acme/b")).toEqual(TAGS);
  expect(await client.tags("acme/b", { limit: 3 })).toEqual(["1.0", "docker", "latest"]);
  expect(await client.tags("acme/b", { last: "latest", limit: 2 })).toEqual(["v1", "v10"]);
  expect(await client.tags("acme/b", { last: "lates", limit: 2 })).toEqual(["latest", "v1"]);
  expect(await client.tags("acme/b", { last: "v3" })).toEqual([]);
  expect(await client.tags("acme/b", { limit: 0 })).toEqual([]);
  expect(await client.repositories()).toEqual(REPOS);
  expect(await client.repositories({ limit: 2 })).toEqual(["acme/app", "acme/b"]);
  expect(await client.repositories({ last: "acme/b", limit: 2 })).toEqual(["middle/x", "zeta/app"]);
  expect(await client.repositories({ last: "zeta/app" })).toEqual([]);
}

describe("a registry that ignores n and last on tag lists (distribution 2.8)", () => {
  test("listing is sorted and kept to last and limit on the client side", async () => {
    using server = fakeServer((_request, _body, url) => {
      if (url.pathname === "/v2/_catalog") {
        // Its catalog does page, with a Link.
        const n = Number(url.searchParams.get("n") ?? 100);
        const last = url.searchParams.get("last");
        const rest = REPOS.filter((r) => last === null || r > last);
        const page = rest.slice(0, n);
        const link = rest.length > n ? `</v2/_catalog?last=${encodeURIComponent(page.at(-1)!)}&n=${n}>; rel="next"` : undefined;
        return json({ repositories: page }, { headers: link ? { link } : {} });
      }
      return json({ name: "acme/b", tags: STORAGE_ORDER });
    });
    await expectListing(RegistryClient.open(server.host, fast));
  });

  test("a Link that leads back to a page already read ends the listing", async () => {
    using server = fakeServer(() => json({ tags: STORAGE_ORDER }, { headers: { link: `</v2/acme/b/tags/list?n=2&last=v3>; rel="next"` } }));
    const client = RegistryClient.open(server.host, fast);
    expect(await client.tags("acme/b", { last: "docker", limit: 2 })).toEqual(["latest", "v1"]);
    expect(server.requests.map((r) => r.path).filter((p) => p !== "/v2/")).toEqual(["/v2/acme/b/tags/list?n=2&last=docker", "/v2/acme/b/tags/list?n=2&last=v3"]);
  });
});

describe("a registry that pages properly", () => {
  test("pages are followed through Link, and the client stops once it has `limit` names", async () => {
    using registry = miniRegistry({ pageSize: 2 });
    const client = RegistryClient.open(registry.host, fast);
    const manifest = new TextEncoder().encode(
      JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: digestOf("{}"), size: 2 }, layers: [] }),
    );
    for (const tag of TAGS) await client.putManifest("acme/b", tag, { bytes: manifest, mediaType: MediaType.ociManifest });
    const before = registry.requests.length;
    expect(await client.tags("acme/b")).toEqual(TAGS);
    expect(registry.requests.length - before).toBe(4);
    expect(await client.tags("acme/b", { limit: 3 })).toEqual(["1.0", "docker", "latest"]);
    expect(registry.requests.length - before).toBe(6);
    expect(await client.tags("acme/b", { last: "latest", limit: 3 })).toEqual(["v1", "v10", "v2"]);
  });

  describe("our own registry", () => {
    let server: RunningServer;
    beforeAll(async () => {
      const home = new MemoryHome();
      home.strict = false;
      const manifest = new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: digestOf("{}"), size: 2 }, layers: [] }),
      );
      for (const repo of REPOS) await home.putManifest(repo, "1.0", { bytes: manifest, mediaType: MediaType.ociManifest });
      for (const tag of TAGS) await home.putManifest("acme/b", tag, { bytes: manifest, mediaType: MediaType.ociManifest });
      server = listen(createRegistryApp(home), { hostname: "127.0.0.1", port: 0 });
    });
    afterAll(() => server?.stop(0));

    test("listing keeps to last and limit", async () => {
      await expectListing(RegistryClient.open(`127.0.0.1:${server.port}`, fast));
    });
  });
});

test("an unknown repository is NAME_UNKNOWN; an answer that is not a list is refused", async () => {
  using registry = miniRegistry();
  const client = RegistryClient.open(registry.host, fast);
  expect((await client.tags("nobody/here", { limit: 2 }).catch((e) => e)).code).toBe("NAME_UNKNOWN");
  using odd = fakeServer(() => json({ tags: "v1" }));
  const error = await RegistryClient.open(odd.host, fast).tags("app").catch((e) => e);
  expect([error.code, error.message]).toEqual(["UNKNOWN", `Cannot list the tags of ${odd.host}/app: the registry answered with something other than a list of tags`]);
});
