import { describe, expect, test } from "bun:test";
import { blob, configBlob, imageManifest } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

describe("names and paths", () => {
  test("invalid names are 400 NAME_INVALID on every endpoint, and nothing is written", async () => {
    await using r = await registry();
    const b = blob("x");
    const names = ["UPPER/case", "a%2Fb", "a%2fb", "a%2e%2e", "a..b", "-lead", "trail-", "a//b", "a b", `${"a".repeat(256)}`];
    for (const name of names) {
      for (const [path, method] of [
        [`/v2/${name}/manifests/latest`, "GET"],
        [`/v2/${name}/manifests/latest`, "PUT"],
        [`/v2/${name}/blobs/${b.digest}`, "GET"],
        [`/v2/${name}/blobs/uploads/`, "POST"],
        [`/v2/${name}/tags/list`, "GET"],
        [`/v2/${name}/referrers/${b.digest}`, "GET"],
      ] as const) {
        const res = await r.request(path, { method, ...(method === "PUT" || method === "POST" ? { body: "{}" } : {}) });
        expect([name, path, res.status, await errorCode(res)]).toEqual([name, path, 400, "NAME_INVALID"]);
      }
    }
    expect(await r.staged()).toEqual([]);
    expect(await (await r.request("/v2/_catalog")).json()).toEqual({ repositories: [] });
  });

  test("dot segments are resolved before routing and cannot leave /v2/", async () => {
    await using r = await registry();
    const config = configBlob();
    await r.pushBlob("app", config);
    // `/v2/other/../app/...` is `/v2/app/...`; `..` past /v2 lands outside the API.
    expect((await r.request(`/v2/other/../app/blobs/${config.digest}`, { method: "HEAD" })).status).toBe(200);
    expect((await r.request(`/v2/other/%2e%2e/app/blobs/${config.digest}`, { method: "HEAD" })).status).toBe(200);
    const outside = await r.request("/v2/../../etc/passwd");
    expect([outside.status, await errorCode(outside)]).toEqual([404, "UNSUPPORTED"]);
  });

  test("tags and references that break the grammar are 400 on PUT; a GET of such a tag finds nothing (404)", async () => {
    await using r = await registry();
    const config = configBlob();
    await r.pushBlob("app", config);
    const m = imageManifest(config, []);
    for (const [ref, code] of [
      [".hidden", "TAG_INVALID"],
      ["a".repeat(129), "TAG_INVALID"],
      ["sha256:abc", "DIGEST_INVALID"],
      ["sha256:" + "Z".repeat(64), "DIGEST_INVALID"],
    ] as const) {
      const get = await r.request(`/v2/app/manifests/${ref}`);
      const read = code === "TAG_INVALID" ? [404, "MANIFEST_UNKNOWN"] : [400, code];
      expect([ref, get.status, await errorCode(get)]).toEqual([ref, ...read]);
      const put = await r.request(`/v2/app/manifests/${ref}`, { method: "PUT", body: m.bytes, headers: { "Content-Type": m.mediaType } });
      expect([ref, put.status, await errorCode(put)]).toEqual([ref, 400, code]);
    }
    // A digest whose colon the client percent-encoded still works.
    await r.pushManifest("app", "v1", m);
    expect((await r.request(`/v2/app/manifests/${m.digest.replace(":", "%3A")}`)).status).toBe(200);
  });

  test("unknown endpoints are 404 and wrong methods 405, both with an error body", async () => {
    await using r = await registry();
    const none = await r.request("/v2/app/nothing-here");
    expect([none.status, await errorCode(none)]).toEqual([404, "UNSUPPORTED"]);
    expect((await r.request("/")).status).toBe(404);
    const wrong = await r.request("/v2/app/manifests/latest", { method: "POST" });
    expect([wrong.status, wrong.headers.get("allow"), await errorCode(wrong)]).toEqual([405, "GET, HEAD, PUT, DELETE", "UNSUPPORTED"]);
    expect((await r.request("/v2/_catalog", { method: "DELETE" })).status).toBe(405);
  });
});
