import { expect, test } from "bun:test";
import { type AccessLogEntry, formatAccessLog } from "../../../src/registry/index.ts";
import { blob } from "../store/fixtures.ts";
import { registry } from "./harness.ts";

test("one access log entry per request: method, path, status, bytes, time", async () => {
  const entries: AccessLogEntry[] = [];
  await using r = await registry({ accessLog: (e) => entries.push(e) });
  const b = blob("logged bytes");
  await r.pushBlob("app", b);
  await r.request(`/v2/app/blobs/${b.digest}`);
  await r.request("/v2/nothing/tags/list");
  expect(entries.map(({ method, path, status, bytes }) => ({ method, path, status, bytes }))).toEqual([
    { method: "POST", path: `/v2/app/blobs/uploads/`, status: 201, bytes: 0 },
    { method: "GET", path: `/v2/app/blobs/${b.digest}`, status: 200, bytes: b.size },
    { method: "GET", path: "/v2/nothing/tags/list", status: 404, bytes: expect.any(Number) },
  ]);
  expect(entries.every((e) => e.ms >= 0 && !Number.isNaN(Date.parse(e.time)))).toBe(true);
});

test("text and JSON formats", () => {
  const entry: AccessLogEntry = { time: "2024-01-01T00:00:00.000Z", method: "GET", path: "/v2/", status: 200, bytes: 2, ms: 1.25 };
  expect(formatAccessLog(entry, "text")).toBe("2024-01-01T00:00:00.000Z - - GET /v2/ 200 2 1.3ms\n");
  expect(JSON.parse(formatAccessLog({ ...entry, user: "alice" }, "json"))).toEqual({ ...entry, user: "alice" });
});
