import { describe, expect, test } from "bun:test";
import { configBlob, imageManifest } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

async function tagged(r: Awaited<ReturnType<typeof registry>>, repo: string, tags: string[]) {
  const config = configBlob();
  await r.pushBlob(repo, config);
  const m = imageManifest(config, []);
  for (const tag of tags) await r.pushManifest(repo, tag, m);
}

describe("tags list", () => {
  test("all tags sorted; n and last paginate with a Link to the next page", async () => {
    await using r = await registry();
    await tagged(r, "app", ["v3", "v1", "latest", "v2"]);
    expect(await (await r.request("/v2/app/tags/list")).json()).toEqual({ name: "app", tags: ["latest", "v1", "v2", "v3"] });
    const first = await r.request("/v2/app/tags/list?n=2");
    expect(await first.json()).toEqual({ name: "app", tags: ["latest", "v1"] });
    expect(first.headers.get("link")).toBe('</v2/app/tags/list?n=2&last=v1>; rel="next"');
    const second = await r.request("/v2/app/tags/list?n=2&last=v1");
    expect(await second.json()).toEqual({ name: "app", tags: ["v2", "v3"] });
    expect(second.headers.get("link")).toBeNull();
    expect(await (await r.request("/v2/app/tags/list?last=v2")).json()).toEqual({ name: "app", tags: ["v3"] });
    expect(await (await r.request("/v2/app/tags/list?n=0")).json()).toEqual({ name: "app", tags: [] });
  });

  test("a bad n is 400 PAGINATION_NUMBER_INVALID; an unknown repository 404 NAME_UNKNOWN", async () => {
    await using r = await registry();
    await tagged(r, "app", ["v1"]);
    for (const n of ["-1", "abc", "1.5", "1e3"]) {
      const res = await r.request(`/v2/app/tags/list?n=${n}`);
      expect([n, res.status, await errorCode(res)]).toEqual([n, 400, "PAGINATION_NUMBER_INVALID"]);
    }
    const unknown = await r.request("/v2/nothing/tags/list");
    expect([unknown.status, await errorCode(unknown)]).toEqual([404, "NAME_UNKNOWN"]);
  });
});

describe("catalog", () => {
  test("repositories sorted and paginated from metadata", async () => {
    await using r = await registry();
    for (const repo of ["zeta", "alpha/b", "alpha", "mid/x/y"]) await tagged(r, repo, ["1"]);
    expect(await (await r.request("/v2/_catalog")).json()).toEqual({ repositories: ["alpha", "alpha/b", "mid/x/y", "zeta"] });
    const page = await r.request("/v2/_catalog?n=3");
    expect(await page.json()).toEqual({ repositories: ["alpha", "alpha/b", "mid/x/y"] });
    expect(page.headers.get("link")).toBe(`</v2/_catalog?n=3&last=${encodeURIComponent("mid/x/y")}>; rel="next"`);
    expect(await (await r.request("/v2/_catalog?n=3&last=mid%2Fx%2Fy")).json()).toEqual({ repositories: ["zeta"] });
  });
});
