/** The metrics hook: one observation per request, errors and 401s included; pulls reported by GET only. */
import { expect, test } from "bun:test";
import type { RequestObservation } from "../../../src/registry/index.ts";
import { BasicAuthenticator } from "../../../src/registry/index.ts";
import { blob, configBlob, imageManifest, streamOf } from "../store/fixtures.ts";
import { registry } from "./harness.ts";

test("every request is observed: route, status, body bytes in and out", async () => {
  const seen: RequestObservation[] = [];
  const pulls: string[] = [];
  await using r = await registry({ observer: (o) => seen.push(o), onPull: (repo, digest) => pulls.push(`${repo}@${digest}`) });
  const layer = blob("some layer bytes");
  const config = configBlob();
  await r.pushBlob("app", layer);
  await r.pushBlob("app", config);
  // A chunked PATCH without Content-Length still counts its bytes.
  const post = await r.request("/v2/app/blobs/uploads/", { method: "POST" });
  const chunk = blob("chunk");
  const location = post.headers.get("location")!;
  await r.request(location, { method: "PATCH", body: streamOf("ch", "unk"), duplex: "half" } as RequestInit);
  await r.request(`${location}?digest=${chunk.digest}`, { method: "PUT" });
  const m = imageManifest(config, [layer]);
  await r.pushManifest("app", "1.0", m);
  await r.request("/v2/app/manifests/1.0", { method: "HEAD" });
  await r.request("/v2/app/manifests/1.0");
  await r.request(`/v2/app/blobs/${layer.digest}`);
  await r.request("/v2/app/manifests/missing");
  await r.request("/v2/Bad..Name/tags/list");
  await r.request("/elsewhere");
  const shape = seen.map(({ seconds, ...o }) => {
    expect(seconds).toBeGreaterThanOrEqual(0);
    return o;
  });
  expect(shape).toEqual([
    { method: "POST", route: "uploads", status: 201, bytesIn: layer.size, bytesOut: 0 },
    { method: "POST", route: "uploads", status: 201, bytesIn: config.size, bytesOut: 0 },
    { method: "POST", route: "uploads", status: 202, bytesIn: 0, bytesOut: 0 },
    { method: "PATCH", route: "upload", status: 202, bytesIn: 5, bytesOut: 0 },
    { method: "PUT", route: "upload", status: 201, bytesIn: 0, bytesOut: 0 },
    { method: "PUT", route: "manifest", status: 201, bytesIn: m.size, bytesOut: 0 },
    { method: "HEAD", route: "manifest", status: 200, bytesIn: 0, bytesOut: 0 },
    { method: "GET", route: "manifest", status: 200, bytesIn: 0, bytesOut: m.size },
    { method: "GET", route: "blob", status: 200, bytesIn: 0, bytesOut: layer.size },
    { method: "GET", route: "manifest", status: 404, bytesIn: 0, bytesOut: expect.any(Number) },
    { method: "GET", route: "invalid", status: 400, bytesIn: 0, bytesOut: expect.any(Number) },
    { method: "GET", route: "unknown", status: 404, bytesIn: 0, bytesOut: expect.any(Number) },
  ]);
  expect(pulls).toEqual([`app@${m.digest}`]);
});

test("requests refused by auth are observed too", async () => {
  const seen: RequestObservation[] = [];
  const hash = await Bun.password.hash("secret", "bcrypt");
  await using r = await registry({ observer: (o) => seen.push(o), auth: new BasicAuthenticator(new Map([["alice", hash]])) });
  expect((await r.request("/v2/")).status).toBe(401);
  expect(seen.map((o) => [o.method, o.route, o.status])).toEqual([["GET", "base", 401]]);
});
