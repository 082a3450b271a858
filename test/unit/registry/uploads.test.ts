import { describe, expect, test } from "bun:test";
import { blob, failingStream } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

describe("single-request and two-request uploads", () => {
  test("POST ?digest= stores the blob in one request (201, Location, digest)", async () => {
    await using r = await registry();
    const b = blob("monolithic");
    const res = await r.request(`/v2/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
    expect(res.status).toBe(201);
    expect(res.headers.get("location")).toBe(`/v2/app/blobs/${b.digest}`);
    expect(res.headers.get("docker-content-digest")).toBe(b.digest);
    expect(await (await r.request(`/v2/app/blobs/${b.digest}`)).text()).toBe("monolithic");
  });

  test("POST opens a session (202, Location, Range, chunk hint); PUT ?digest= with the body finishes it", async () => {
    await using r = await registry();
    const b = blob("two requests");
    const post = await r.request("/v2/app/blobs/uploads/", { method: "POST" });
    expect(post.status).toBe(202);
    const location = post.headers.get("location")!;
    expect(location).toMatch(/^\/v2\/app\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(post.headers.get("range")).toBe("0-0");
    expect(post.headers.get("docker-upload-uuid")).toBe(location.split("/").at(-1)!);
    expect(Number(post.headers.get("oci-chunk-min-length"))).toBeGreaterThan(0);
    const put = await r.request(`${location}?digest=${b.digest}`, { method: "PUT", body: b.bytes });
    expect(put.status).toBe(201);
    expect(put.headers.get("location")).toBe(`/v2/app/blobs/${b.digest}`);
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(200);
    expect(await r.staged()).toEqual([]);
  });

  test("wrong digests, sizes and algorithms are refused and nothing becomes visible", async () => {
    await using r = await registry();
    const b = blob("the bytes");
    const wrong = blob("other bytes");
    const cases: [string, RequestInit, number, string][] = [
      [`/v2/app/blobs/uploads/?digest=${wrong.digest}`, { method: "POST", body: b.bytes }, 400, "DIGEST_INVALID"],
      [`/v2/app/blobs/uploads/?digest=sha256:1234`, { method: "POST", body: b.bytes }, 400, "DIGEST_INVALID"],
      [`/v2/app/blobs/uploads/?digest=md5:0123456789abcdef0123456789abcdef`, { method: "POST", body: b.bytes }, 400, "DIGEST_INVALID"],
    ];
    for (const [path, init, status, code] of cases) {
      const res = await r.request(path, init);
      expect([path, res.status, await errorCode(res)]).toEqual([path, status, code]);
    }
    const post = await r.request("/v2/app/blobs/uploads/", { method: "POST" });
    const location = post.headers.get("location")!;
    const put = await r.request(`${location}?digest=${wrong.digest}`, { method: "PUT", body: b.bytes });
    expect([put.status, await errorCode(put)]).toEqual([400, "DIGEST_INVALID"]);
    // The failed session is gone, with its bytes.
    const status = await r.request(location);
    expect([status.status, await errorCode(status)]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
    const missing = await r.request(`${(await r.request("/v2/app/blobs/uploads/", { method: "POST" })).headers.get("location")}`, {
      method: "PUT",
      body: b.bytes,
    });
    expect([missing.status, await errorCode(missing)]).toEqual([400, "DIGEST_INVALID"]);
    for (const d of [b.digest, wrong.digest]) expect((await r.request(`/v2/app/blobs/${d}`, { method: "HEAD" })).status).toBe(404);
  });

  test("a body shorter than its Content-Length is refused (SIZE_INVALID)", async () => {
    await using r = await registry();
    const b = blob("short");
    const res = await r.request(`/v2/app/blobs/uploads/?digest=${b.digest}`, {
      method: "POST",
      body: b.bytes,
      headers: { "Content-Length": "100" },
    });
    expect(res.status).toBe(400);
    expect(["SIZE_INVALID", "DIGEST_INVALID"]).toContain(await errorCode(res));
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("chunked uploads", () => {
  async function session(r: Awaited<ReturnType<typeof registry>>, repo = "app") {
    const post = await r.request(`/v2/${repo}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
    return post.headers.get("location")!;
  }

  test("PATCH chunks with Content-Range, GET status, PUT the last chunk", async () => {
    await using r = await registry();
    const b = blob("chunk-one|chunk-two|end");
    const location = await session(r);
    const p1 = await r.request(location, {
      method: "PATCH",
      body: "chunk-one|",
      headers: { "Content-Range": "0-9", "Content-Length": "10", "Content-Type": "application/octet-stream" },
    });
    expect(p1.status).toBe(202);
    expect(p1.headers.get("range")).toBe("0-9");
    expect(p1.headers.get("location")).toBe(location);
    const status = await r.request(location);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-9");
    expect(status.headers.get("location")).toBe(location);
    // A streamed PATCH without Content-Range (docker's way) appends too.
    const p2 = await r.request(location, { method: "PATCH", body: "chunk-two|" });
    expect(p2.headers.get("range")).toBe("0-19");
    const put = await r.request(`${location}?digest=${b.digest}`, {
      method: "PUT",
      body: "end",
      headers: { "Content-Range": "20-22", "Content-Length": "3" },
    });
    expect(put.status).toBe(201);
    expect(await (await r.request(`/v2/app/blobs/${b.digest}`)).text()).toBe("chunk-one|chunk-two|end");
  });

  test("a gap, an overlap or a stale offset is 416 with the current Range; the session is unchanged", async () => {
    await using r = await registry();
    const location = await session(r);
    await r.request(location, { method: "PATCH", body: "abcd", headers: { "Content-Range": "0-3" } });
    for (const range of ["6-7", "2-3", "0-1"]) {
      const res = await r.request(location, { method: "PATCH", body: "zz", headers: { "Content-Range": range } });
      expect([range, res.status, res.headers.get("range"), res.headers.get("location")]).toEqual([range, 416, "0-3", location]);
      expect(await errorCode(res)).toBe("RANGE_INVALID");
    }
    // Content-Range and Content-Length that disagree, and a malformed Content-Range.
    const lie = await r.request(location, { method: "PATCH", body: "zz", headers: { "Content-Range": "4-9", "Content-Length": "2" } });
    expect(lie.status).toBe(416);
    const junk = await r.request(location, { method: "PATCH", body: "zz", headers: { "Content-Range": "four-five" } });
    expect(junk.status).toBe(416);
    // A range that promises more than the body carries.
    const short = await r.request(location, { method: "PATCH", body: "ef", headers: { "Content-Range": "4-9" } });
    expect([short.status, await errorCode(short)]).toEqual([400, "SIZE_INVALID"]);
    expect((await r.request(location)).headers.get("range")).toBe("0-3");
    const done = await r.request(`${location}?digest=${blob("abcdef").digest}`, {
      method: "PUT",
      body: "ef",
      headers: { "Content-Range": "4-5" },
    });
    expect(done.status).toBe(201);
  });

  test("a body that breaks off mid-chunk is refused and leaves the offset where it was", async () => {
    await using r = await registry();
    const location = await session(r);
    await r.request(location, { method: "PATCH", body: "abcd" });
    const res = await r.request(location, { method: "PATCH", body: failingStream("ef", "gh") });
    expect([res.status, await errorCode(res)]).toEqual([400, "BLOB_UPLOAD_INVALID"]);
    expect((await r.request(location)).headers.get("range")).toBe("0-3");
  });

  test("DELETE cancels a session; unknown and foreign ids are BLOB_UPLOAD_UNKNOWN", async () => {
    await using r = await registry();
    const location = await session(r);
    const id = location.split("/").at(-1)!;
    const foreign = await r.request(`/v2/other/blobs/uploads/${id}`);
    expect([foreign.status, await errorCode(foreign)]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
    expect((await r.request(location, { method: "DELETE" })).status).toBe(204);
    for (const path of [
      location,
      "/v2/app/blobs/uploads/not-a-uuid",
      "/v2/app/blobs/uploads/..%2F..%2Fmetadata.db",
      "/v2/app/blobs/uploads/%2e%2e",
    ]) {
      for (const method of ["GET", "PATCH", "PUT", "DELETE"]) {
        const res = await r.request(path + (method === "PUT" ? `?digest=${blob("x").digest}` : ""), {
          method,
          ...(method === "PATCH" || method === "PUT" ? { body: "x" } : {}),
        });
        expect([path, method, res.status]).toEqual([path, method, 404]);
      }
    }
    expect(await r.staged()).toEqual([]);
  });
});

describe("cross-repository mounts", () => {
  test("201 when the source has the blob, 202 with a session when it does not; without from too", async () => {
    await using r = await registry();
    const b = blob("base layer");
    await r.pushBlob("base", b);
    const mounted = await r.request(`/v2/app/blobs/uploads/?mount=${b.digest}&from=base`, { method: "POST" });
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get("location")).toBe(`/v2/app/blobs/${b.digest}`);
    expect(mounted.headers.get("docker-content-digest")).toBe(b.digest);
    expect((await r.request(`/v2/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(200);

    const absent = blob("not anywhere");
    const fallback = await r.request(`/v2/app/blobs/uploads/?mount=${absent.digest}&from=base`, { method: "POST" });
    expect(fallback.status).toBe(202);
    const put = await r.request(`${fallback.headers.get("location")}?digest=${absent.digest}`, { method: "PUT", body: absent.bytes });
    expect(put.status).toBe(201);

    const wrongSource = await r.request(`/v2/app2/blobs/uploads/?mount=${b.digest}&from=nothing`, { method: "POST" });
    expect(wrongSource.status).toBe(202);
    const noFrom = await r.request(`/v2/app3/blobs/uploads/?mount=${b.digest}`, { method: "POST" });
    expect(noFrom.status).toBe(201);

    // A `from` that is no repository name cannot be mounted from: a session, as distribution answers.
    for (const from of ["Bad%2Fname", "..", "a".repeat(300)]) {
      const badFrom = await r.request(`/v2/app4/blobs/uploads/?mount=${b.digest}&from=${from}`, { method: "POST" });
      expect(badFrom.status).toBe(202);
      expect(badFrom.headers.get("location")).toStartWith("/v2/app4/blobs/uploads/");
      const finished = await r.request(`${badFrom.headers.get("location")}?digest=${b.digest}`, { method: "PUT", body: b.bytes });
      expect(finished.status).toBe(201);
    }
    const badDigest = await r.request(`/v2/app3/blobs/uploads/?mount=sha256:nope&from=base`, { method: "POST" });
    expect([badDigest.status, await errorCode(badDigest)]).toEqual([400, "DIGEST_INVALID"]);
  });
});

describe("read-only", () => {
  test("every upload request is 405 UNSUPPORTED and writes nothing", async () => {
    await using r = await registry({ readOnly: true });
    const b = blob("nope");
    for (const [path, init] of [
      [`/v2/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes }],
      [`/v2/app/blobs/uploads/`, { method: "POST" }],
      [`/v2/app/blobs/uploads/?mount=${b.digest}&from=x`, { method: "POST" }],
    ] as const) {
      const res = await r.request(path, init);
      expect([res.status, await errorCode(res)]).toEqual([405, "UNSUPPORTED"]);
    }
    expect(await r.staged()).toEqual([]);
  });
});
