import { describe, expect, test } from "bun:test";
import { blob } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

describe("GET /v2/", () => {
  test("answers 200 {} with the API version header, for GET and HEAD", async () => {
    await using r = await registry();
    const res = await r.request("/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(await res.json()).toEqual({});
    expect((await r.request("/v2", { method: "HEAD" })).status).toBe(200);
  });
});

describe("blob reads", () => {
  test("GET and HEAD carry length, digest, ETag; HEAD has no body", async () => {
    await using r = await registry();
    const b = blob("some layer bytes");
    await r.pushBlob("app", b);
    const get = await r.request(`/v2/app/blobs/${b.digest}`);
    expect(get.status).toBe(200);
    expect(await get.text()).toBe("some layer bytes");
    const expected = {
      "content-length": String(b.size),
      "docker-content-digest": b.digest,
      etag: `"${b.digest}"`,
      "accept-ranges": "bytes",
    };
    for (const [k, v] of Object.entries(expected)) expect(get.headers.get(k)).toBe(v);
    const head = await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    for (const [k, v] of Object.entries(expected)) expect(head.headers.get(k)).toBe(v);
    expect(await head.text()).toBe("");
  });

  test("Range requests get 206 with Content-Range, and 416 past the end", async () => {
    await using r = await registry();
    const b = blob("0123456789");
    await r.pushBlob("app", b);
    const part = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(part.headers.get("content-length")).toBe("4");
    expect(await part.text()).toBe("2345");
    const open = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=7-" } });
    expect(await open.text()).toBe("789");
    const suffix = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=-3" } });
    expect(await suffix.text()).toBe("789");
    const past = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=10-" } });
    expect(past.status).toBe(416);
    expect(past.headers.get("content-range")).toBe("bytes */10");
    const multi = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=0-1,3-4" } });
    expect(multi.status).toBe(200);
    // Backwards is 416 too (as distribution answers; the conformance suite counts a 200 as no range support).
    const backwards = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=5-2" } });
    expect([backwards.status, backwards.headers.get("content-range")]).toEqual([416, "bytes */10"]);
    const one = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { Range: "bytes=5-5" } });
    expect([one.status, await one.text()]).toEqual([206, "5"]);
  });

  test("If-None-Match with the digest ETag answers 304", async () => {
    await using r = await registry();
    const b = blob("cached");
    await r.pushBlob("app", b);
    const res = await r.request(`/v2/app/blobs/${b.digest}`, { headers: { "If-None-Match": `"${b.digest}"` } });
    expect(res.status).toBe(304);
  });

  test("unknown blobs are 404 BLOB_UNKNOWN; malformed digests are 400 DIGEST_INVALID", async () => {
    await using r = await registry();
    const b = blob("elsewhere");
    await r.pushBlob("other", b);
    const unknown = await r.request(`/v2/app/blobs/${b.digest}`);
    expect([unknown.status, await errorCode(unknown)]).toEqual([404, "BLOB_UNKNOWN"]);
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(404);
    for (const bad of ["sha256:abc", "sha256:" + "G".repeat(64), "nodigest", "sha256:" + "A".repeat(64)]) {
      const res = await r.request(`/v2/app/blobs/${bad}`);
      expect([bad, res.status, await errorCode(res)]).toEqual([bad, 400, "DIGEST_INVALID"]);
    }
  });
});

describe("blob deletes", () => {
  test("DELETE unlinks the blob from that repository (202); again is 404", async () => {
    await using r = await registry();
    const b = blob("delete me");
    await r.pushBlob("app", b);
    await r.pushBlob("keep", b);
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "DELETE" })).status).toBe(202);
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(404);
    expect((await r.request(`/v2/keep/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(200);
    const again = await r.request(`/v2/app/blobs/${b.digest}`, { method: "DELETE" });
    expect([again.status, await errorCode(again)]).toEqual([404, "BLOB_UNKNOWN"]);
  });

  test("--no-delete and --read-only refuse with 405 UNSUPPORTED and change nothing", async () => {
    for (const options of [{ noDelete: true }, { readOnly: true }]) {
      await using r = await registry(options);
      const b = blob("kept");
      await r.store.putBlob("app", { digest: b.digest }, new Blob([b.bytes]));
      const res = await r.request(`/v2/app/blobs/${b.digest}`, { method: "DELETE" });
      expect([res.status, await errorCode(res)]).toEqual([405, "UNSUPPORTED"]);
      expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(200);
    }
  });
});
