/** Every protected route refuses a missing, malformed or wrong token with 401; the public ones answer without one. */
import { expect, test } from "bun:test";
import { MIN_TOKEN_LENGTH, OPENAPI_DOCUMENT, TokenCheck } from "../../../src/admin/index.ts";
import { adminHarness, errorOf, TOKEN } from "./harness.ts";

/** Every route that needs the token: [method, path, body]. */
const PROTECTED: [string, string, unknown?][] = [
  ["GET", "/metrics"],
  ["GET", "/api/v1/openapi.json"],
  ["GET", "/api/v1/repositories"],
  ["GET", "/api/v1/repositories/acme/app/tags"],
  ["GET", "/api/v1/usage"],
  ["POST", "/api/v1/sync", { source: "/nonexistent" }],
  ["POST", "/api/v1/gc", { dryRun: true }],
  ["GET", "/api/v1/jobs"],
  ["GET", "/api/v1/jobs/00000000-0000-0000-0000-000000000000"],
  ["DELETE", "/api/v1/jobs/00000000-0000-0000-0000-000000000000"],
  ["GET", "/api/v1/no-such-route"],
];

const BAD_AUTHORIZATION: [string, string | null][] = [
  ["missing", null],
  ["empty", ""],
  ["wrong token", "Bearer wrong-token-0123456789abcdef"],
  ["token with a suffix", `Bearer ${TOKEN}x`],
  ["token prefix", `Bearer ${TOKEN.slice(0, -1)}`],
  ["basic scheme", `Basic ${btoa(`admin:${TOKEN}`)}`],
  ["no scheme", TOKEN],
  ["scheme only", "Bearer"],
  ["two tokens", `Bearer ${TOKEN} ${TOKEN}`],
];

test("every protected route: 401 with a challenge for each bad Authorization, never echoing the token", async () => {
  await using h = await adminHarness();
  for (const [method, path, body] of PROTECTED) {
    for (const [what, header] of BAD_AUTHORIZATION) {
      const init: RequestInit = { method, headers: header === null ? {} : { Authorization: header } };
      if (body !== undefined) init.body = JSON.stringify(body);
      const res = await h.admin.app.request(path, init);
      const text = await res.text();
      expect([method, path, what, res.status, res.headers.get("www-authenticate")]).toEqual([method, path, what, 401, 'Bearer realm="stevedore-admin"']);
      expect(JSON.parse(text).error.code).toBe("UNAUTHORIZED");
      expect(text).not.toContain(TOKEN);
    }
    const ok = await h.api(method, path, body);
    expect([method, path, ok.status === 401]).toEqual([method, path, false]);
  }
  // Nothing was started by all those refused requests.
  expect(h.admin.jobs.list().filter((j) => j.request && (j.request as { source?: string }).source === "/nonexistent")).toEqual([]);
});

test("the scheme name is case-insensitive, as HTTP says", async () => {
  await using h = await adminHarness();
  const res = await h.admin.app.request("/api/v1/usage", { headers: { Authorization: `bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
});

test("health, readiness and the status page need no token", async () => {
  await using h = await adminHarness();
  const health = await h.api("GET", "/healthz", undefined, null);
  expect([health.status, await health.json()]).toEqual([200, { status: "ok" }]);
  const ready = await h.api("GET", "/readyz", undefined, null);
  expect([ready.status, await ready.json()]).toEqual([200, { status: "ready", checks: { metadata: "ok", blobs: "ok" } }]);
  const page = await h.api("GET", "/", undefined, null);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toStartWith("text/html");
  expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
  expect(await page.text()).not.toContain(TOKEN);
});

test("readiness fails with 503 once the metadata database is gone", async () => {
  await using h = await adminHarness();
  await h.store.metadata.close();
  const res = await h.api("GET", "/readyz", undefined, null);
  const body = (await res.json()) as { status: string; checks: { metadata: string; blobs: string } };
  expect([res.status, body.status, body.checks.blobs]).toEqual([503, "unavailable", "ok"]);
  expect(body.checks.metadata).not.toBe("ok");
});

test("the route table above covers every protected path of the OpenAPI document", () => {
  const documented = Object.keys(OPENAPI_DOCUMENT.paths).filter((p) => p.startsWith("/api/") || p === "/metrics");
  const tested = new Set(PROTECTED.map(([, path]) => path.replace("/acme/app/", "/{name}/").replace(/[0-9a-f-]{36}$/, "{id}")));
  for (const path of documented) expect(tested).toContain(path);
});

test("tokens too short or with whitespace are refused up front", () => {
  expect(() => new TokenCheck("x".repeat(MIN_TOKEN_LENGTH - 1))).toThrow(`at least ${MIN_TOKEN_LENGTH} characters`);
  expect(() => new TokenCheck("abc def ghi jkl mno")).toThrow("whitespace");
  expect(new TokenCheck(TOKEN).accepts(`Bearer ${TOKEN}`)).toBe(true);
});
