/** Invalid requests get 400 (or 413) with the validation message, and nothing changes: no job, no file, no row. */
import { expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createAdminApp, JobQueue, Metrics } from "../../../src/admin/index.ts";
import { adminHarness, errorOf, type Harness, TOKEN } from "./harness.ts";

/** Every file under the store root with its size, and the metadata counts. */
async function snapshot(h: Harness) {
  const files: string[] = [];
  for (const entry of await readdir(h.root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && !entry.name.startsWith("metadata.db")) files.push(join(entry.parentPath, entry.name));
  }
  return { files: files.sort(), totals: await h.store.metadata.totals(), jobs: h.admin.jobs.list().length };
}

const SYNC_CASES: [string, unknown, number, RegExp][] = [
  ["not JSON", "{source: nope", 400, /not valid JSON/],
  ["an array", [], 400, /expected object/],
  ["no source", {}, 400, /^source: /],
  ["source of the wrong type", { source: 7 }, 400, /^source: .*expected string/],
  ["empty source", { source: "  " }, 400, /source is empty/],
  ["unknown field", { source: "/tmp", destination: "x" }, 400, /Unrecognized key.*destination/],
  ["prefix with capitals", { source: "/tmp", prefix: "Mirror" }, 400, /^prefix: prefix must be a repository path/],
  ["platforms not a list", { source: "/tmp", platforms: "linux/amd64" }, 400, /^platforms: /],
  ["bad platform", { source: "/tmp", platforms: ["linux"] }, 400, /^platforms: /],
  ["parallel out of range", { source: "/tmp", parallel: 0 }, 400, /^parallel: /],
  ["relative path", { source: "bundle.tar" }, 400, /must be an absolute path on this node/],
  ["missing path", { source: "/no/such/bundle.tar" }, 400, /no such file or directory on this node/],
  ["unknown transport", { source: "ftp:/x" }, 400, /Unknown transport/],
  ["missing oci layout", { source: "oci:/no/such/dir" }, 400, /no such file or directory/],
];

test.each(SYNC_CASES)("POST /api/v1/sync, %s: %d", async (_, body, status, message) => {
  await using h = await adminHarness();
  const before = await snapshot(h);
  const res = await h.api("POST", "/api/v1/sync", body);
  const error = await errorOf(res);
  expect(error.status).toBe(status);
  expect(error.code).toBe("INVALID_REQUEST");
  expect(error.message).toMatch(message);
  expect(await snapshot(h)).toEqual(before);
});

const GC_CASES: [string, unknown, RegExp][] = [
  ["keep not a list", { keep: "nginx:1.25" }, /^keep: /],
  ["keep with a bad reference", { keep: ["nginx:1.25", "acme/App:1"] }, /^keep\[1\]: "acme\/App:1" is not an image reference/],
  ["dryRun not a boolean", { dryRun: "yes" }, /^dryRun: /],
  ["negative grace", { graceSeconds: -1 }, /^graceSeconds: /],
  ["unknown field", { all: true }, /Unrecognized key/],
  ["tag pattern without a retention rule", { tagPattern: "7\\..*" }, /^tagPattern: needs keepRecent or keepWithinSeconds/],
  ["tag pattern that does not compile", { keepRecent: 2, tagPattern: "(" }, /^tagPattern: /],
  ["keepRecent zero", { keepRecent: 0 }, /^keepRecent: /],
];

test.each(GC_CASES)("POST /api/v1/gc, %s: 400", async (_, body, message) => {
  let ran = 0;
  await using h = await adminHarness({ runGc: async () => ({ report: {}, bytesFreed: ran++ }) });
  const before = await snapshot(h);
  const error = await errorOf(await h.api("POST", "/api/v1/gc", body));
  expect([error.status, error.code]).toEqual([400, "INVALID_REQUEST"]);
  expect(error.message).toMatch(message);
  expect(await snapshot(h)).toEqual(before);
  expect(ran).toBe(0);
});

test("the validation error lists its issues with paths", async () => {
  await using h = await adminHarness();
  const res = await h.api("POST", "/api/v1/sync", { source: 1, prefix: 2 });
  const body = (await res.json()) as { error: { issues: { path: string; message: string }[] } };
  expect(body.error.issues.map((i) => i.path)).toEqual(["source", "prefix"]);
});

test("a body over 1 MiB is refused with 413 before it is parsed", async () => {
  await using h = await adminHarness();
  const before = await snapshot(h);
  const big = JSON.stringify({ source: `/${"a".repeat(1024 * 1024)}` });
  const error = await errorOf(await h.api("POST", "/api/v1/sync", big));
  expect([error.status, error.code]).toEqual([413, "PAYLOAD_TOO_LARGE"]);
  expect(await snapshot(h)).toEqual(before);
});

test("query parameters and names are checked too", async () => {
  await using h = await adminHarness();
  expect(await errorOf(await h.api("GET", "/api/v1/repositories?n=0"))).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
  expect(await errorOf(await h.api("GET", "/api/v1/repositories?n=abc"))).toMatchObject({ status: 400, code: "INVALID_REQUEST" });
  expect(await errorOf(await h.api("GET", "/api/v1/repositories/Bad..Name/tags"))).toMatchObject({ status: 400, code: "NAME_INVALID" });
  expect(await errorOf(await h.api("GET", "/api/v1/repositories/%E0%A4%A/tags"))).toMatchObject({ status: 400, code: "NAME_INVALID" });
  expect(await errorOf(await h.api("GET", "/api/v1/repositories/acme/none/tags"))).toMatchObject({ status: 404, code: "NAME_UNKNOWN" });
  expect(await errorOf(await h.api("GET", "/api/v1/repositories/acme/app"))).toMatchObject({ status: 404, code: "NOT_FOUND" });
  expect(await errorOf(await h.api("GET", "/api/v1/jobs/nope"))).toMatchObject({ status: 404, code: "NOT_FOUND" });
  expect(await errorOf(await h.api("PUT", "/api/v1/usage"))).toMatchObject({ status: 404, code: "NOT_FOUND" });
});

test("an app without a collector answers POST /api/v1/gc with 501 and starts nothing", async () => {
  await using h = await adminHarness();
  const jobs = new JobQueue();
  const app = createAdminApp({ store: h.store, token: TOKEN, metrics: new Metrics("test"), jobs });
  const res = await app.request("/api/v1/gc", { method: "POST", headers: { Authorization: `Bearer ${TOKEN}` }, body: "{}" });
  expect(await errorOf(res)).toMatchObject({ status: 501, code: "NOT_IMPLEMENTED" });
  expect(jobs.list()).toEqual([]);
});
