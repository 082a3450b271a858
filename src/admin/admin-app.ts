/**
 * The admin API: a Hono app beside the registry, on its own address.
 *
 *   GET    /                          status page (HTML; asks for the token)
 *   GET    /healthz                   liveness                        (no auth)
 *   GET    /readyz                    store and metadata reachable    (no auth)
 *   GET    /metrics                   Prometheus text                 (bearer token)
 *   GET    /api/v1/openapi.json       this API, described
 *   GET    /api/v1/repositories       ?n=&last=
 *   GET    /api/v1/repositories/NAME/tags   (NAME may contain slashes)
 *   GET    /api/v1/usage
 *   POST   /api/v1/sync               {source, prefix?, platforms?, ...} → 202 job
 *   POST   /api/v1/gc                 {keep?, dryRun?, ...}              → 202 job
 *   GET    /api/v1/jobs, /api/v1/jobs/ID
 *   DELETE /api/v1/jobs/ID            cancel
 *
 * Everything under /api/ and /metrics needs `Authorization: Bearer TOKEN`.
 */
import { Hono } from "hono";
import type { Digest } from "../digest/index.ts";
import { rawPath } from "../registry/index.ts";
import type { Store } from "../store/index.ts";
import { AdminError, jsonResponse } from "./admin-error.ts";
import { requireToken, TokenCheck } from "./bearer-auth.ts";
import { checkGcRequest, type GcRunner, gcRequestSchema, gcWork } from "./gc-job.ts";
import { listRepositories, listTags, usage } from "./inventory.ts";
import type { JobQueue } from "./jobs.ts";
import type { Metrics } from "./metrics.ts";
import { OPENAPI_DOCUMENT } from "./openapi.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./prometheus-text.ts";
import { readJsonBody } from "./request-body.ts";
import { STATUS_PAGE } from "./status-page.ts";
import { checkSyncRequest, type Importer, syncRequestSchema, syncWork } from "./sync-job.ts";

export interface AdminAppOptions {
  /** The store the registry serves: the same instance, so imports need no HTTP. */
  store: Store;
  /** The bearer token, or a check built from it. */
  token: string | TokenCheck;
  metrics: Metrics;
  jobs: JobQueue;
  /** Runs garbage collection; without one, POST /api/v1/gc answers 501. */
  runGc?: GcRunner;
  /** The import behind POST /api/v1/sync (tests hand in their own). */
  importer?: Importer;
  /** Every error that became a 500, for the log. */
  onFault?: (error: unknown, request: Request) => void;
}

const API = "/api/v1";
const REPOSITORY_PAGE_MAX = 10_000;
/** The digest of zero bytes: a stat of it proves the blob storage answers. */
const PROBE_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" as Digest;

export function createAdminApp(options: AdminAppOptions): Hono {
  const { store, metrics, jobs } = options;
  const check = typeof options.token === "string" ? new TokenCheck(options.token) : options.token;
  const auth = requireToken(check);
  const app = new Hono();

  app.get("/", () => new Response(STATUS_PAGE, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", ...PAGE_SECURITY } }));
  app.get("/healthz", () => jsonResponse({ status: "ok" }));
  app.get("/readyz", async () => {
    const checks = { metadata: await probe(() => store.metadata.ping()), blobs: await probe(() => store.driver.stat(PROBE_DIGEST)) };
    const ready = checks.metadata === "ok" && checks.blobs === "ok";
    return jsonResponse({ status: ready ? "ready" : "unavailable", checks }, ready ? 200 : 503);
  });

  app.use("/metrics", auth);
  app.get("/metrics", async () => {
    const text = metrics.render(await store.metadata.totals(), jobs.active);
    return new Response(text, { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Cache-Control": "no-store" } });
  });

  app.use("/api/*", auth);
  app.get(`${API}/openapi.json`, () => jsonResponse(OPENAPI_DOCUMENT));
  app.get(`${API}/repositories`, async (c) => {
    const limit = pageSize(c.req.query("n"));
    const last = c.req.query("last") || undefined;
    const repositories = await listRepositories(store, last, limit);
    const next = repositories.length === limit ? repositories.at(-1)?.name : undefined;
    return jsonResponse({ repositories, ...(next ? { next } : {}) });
  });
  app.get(`${API}/repositories/*`, async (c) => {
    // Names contain slashes: NAME is everything between the prefix and /tags.
    const path = rawPath(c.req.url).slice(`${API}/repositories/`.length);
    if (!path.endsWith("/tags")) throw new AdminError("NOT_FOUND", `no endpoint at ${rawPath(c.req.url).slice(0, 200)}`);
    const name = decodeName(path.slice(0, -"/tags".length));
    return jsonResponse({ repository: name, tags: await listTags(store, name) });
  });
  app.get(`${API}/usage`, async () => jsonResponse(await usage(store)));

  app.post(`${API}/sync`, async (c) => {
    const request = await readJsonBody(c.req.raw, syncRequestSchema);
    const platforms = await checkSyncRequest(request);
    const job = jobs.submit("sync", request, syncWork(store, request, platforms, options.importer));
    return jsonResponse({ job }, 202, { Location: `${API}/jobs/${job.id}` });
  });
  app.post(`${API}/gc`, async (c) => {
    const request = await readJsonBody(c.req.raw, gcRequestSchema);
    checkGcRequest(request);
    const run = options.runGc;
    if (!run) throw new AdminError("NOT_IMPLEMENTED", "garbage collection is not available in this server");
    const job = jobs.submit("gc", request, gcWork(run, request, (result) => metrics.gcFreed(result.bytesFreed)));
    return jsonResponse({ job }, 202, { Location: `${API}/jobs/${job.id}` });
  });
  app.get(`${API}/jobs`, () => jsonResponse({ jobs: jobs.list() }));
  app.get(`${API}/jobs/:id`, (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) throw unknownJob(c.req.param("id"));
    return jsonResponse({ job });
  });
  app.delete(`${API}/jobs/:id`, (c) => {
    const id = c.req.param("id");
    const result = jobs.cancel(id);
    if (!result) throw unknownJob(id);
    if (result.finished) throw new AdminError("JOB_FINISHED", `job ${id} has already ${result.job.state}`, { job: result.job });
    return jsonResponse({ job: result.job }, 202);
  });

  app.notFound((c) => new AdminError("NOT_FOUND", `no endpoint at ${c.req.method} ${rawPath(c.req.url).slice(0, 200)}`).response());
  app.onError((error, c) => {
    if (error instanceof AdminError) return error.response();
    options.onFault?.(error, c.req.raw);
    return new AdminError("INTERNAL", `internal error: ${error instanceof Error ? error.message : String(error)}`).response();
  });
  return app;
}

/** The status page only talks to its own origin. */
const PAGE_SECURITY = {
  "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

function pageSize(text: string | undefined): number {
  if (text === undefined || text === "") return 1000;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > REPOSITORY_PAGE_MAX) {
    throw new AdminError("INVALID_REQUEST", `n must be a whole number from 1 to ${REPOSITORY_PAGE_MAX}, got ${JSON.stringify(text.slice(0, 50))}`);
  }
  return n;
}

function decodeName(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new AdminError("NAME_INVALID", `invalid repository name ${JSON.stringify(text.slice(0, 300))}`);
  }
}

function unknownJob(id: string): AdminError {
  return new AdminError("NOT_FOUND", `no job ${JSON.stringify(id.slice(0, 100))}`);
}

async function probe(fn: () => Promise<unknown>, timeoutMs = 5000): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer in ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([fn().then(() => "ok"), timeout]);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}
