/** Sync and gc jobs through the API: lifecycle, live progress, failure, cancellation (queued and running). */
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GcRequest, type JobView, JobQueue } from "../../../src/admin/index.ts";
import { generateImage, generateRelease, writeOciLayout } from "../../helpers/images.ts";
import { stallingRegistry } from "../../helpers/stalling-registry.ts";
import { adminHarness, errorOf, type Harness } from "./harness.ts";

async function tempDir() {
  const path = await mkdtemp(join(tmpdir(), "stevedore-admin-src-"));
  return { path, [Symbol.asyncDispose]: () => rm(path, { recursive: true, force: true }) };
}

async function job(h: Harness, id: string): Promise<JobView> {
  return ((await (await h.api("GET", `/api/v1/jobs/${id}`)).json()) as { job: JobView }).job;
}

/** Poll the job through the API until `done` holds (the job runs in this process; each poll yields to it). */
async function until(h: Harness, id: string, done: (j: JobView) => boolean, timeoutMs = 10_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = await job(h, id);
    if (done(j)) return j;
    if (Date.now() > deadline) throw new Error(`job ${id} did not get there: ${JSON.stringify(j)}`);
    await Bun.sleep(5);
  }
}

test("a sync job imports a layout into the served store: 202, running with progress, succeeded with a report", async () => {
  await using src = await tempDir();
  const release = await generateRelease({ seed: "admin-sync" });
  await writeOciLayout(src.path, release);
  await using h = await adminHarness();
  const res = await h.api("POST", "/api/v1/sync", { source: `oci:${src.path}`, prefix: "site" });
  expect(res.status).toBe(202);
  const { job: queued } = (await res.json()) as { job: JobView };
  expect(res.headers.get("location")).toBe(`/api/v1/jobs/${queued.id}`);
  expect(queued).toMatchObject({ kind: "sync", state: "queued", request: { source: `oci:${src.path}`, prefix: "site" } });

  const done = await h.admin.jobs.wait(queued.id);
  const view = await job(h, queued.id);
  expect(view).toEqual(done!);
  const tagged = release.filter((m) => m.name && !m.name.endsWith(".sig")).length + 1;
  expect(view).toMatchObject({
    state: "succeeded",
    progress: { images: { done: tagged, total: tagged, failed: 0 } },
    report: { images: { total: tagged, synced: tagged, failed: 0 }, interrupted: false, failures: [], warnings: [] },
  });
  expect(view.progress.bytes.done).toBe(view.progress.bytes.total);
  expect(view.progress.bytes.total).toBeGreaterThan(0);
  expect(view.startedAt! >= view.createdAt && view.finishedAt! >= view.startedAt!).toBe(true);
  expect((await h.store.resolve("site/acme/app-0", "1.0")).digest).toBe(release[0]!.descriptor.digest);

  // The list shows it, newest first; a second import of the same layout moves nothing.
  const again = ((await (await h.api("POST", "/api/v1/sync", { source: src.path, prefix: "site" })).json()) as { job: JobView }).job;
  const second = (await h.admin.jobs.wait(again.id))!;
  expect(second).toMatchObject({ state: "succeeded", progress: { bytes: { done: 0, total: 0 } }, report: { images: { skipped: tagged } } });
  const list = ((await (await h.api("GET", "/api/v1/jobs")).json()) as { jobs: JobView[] }).jobs;
  expect(list.map((j) => j.id)).toEqual([again.id, queued.id]);
  // Deleting a finished job is a conflict.
  expect(await errorOf(await h.api("DELETE", `/api/v1/jobs/${queued.id}`))).toMatchObject({ status: 409, code: "JOB_FINISHED" });
});

test("a sync whose source is broken fails with the reason; platform filters are reported", async () => {
  await using src = await tempDir();
  const image = await generateImage({ name: "docker.io/acme/broken:1", seed: "broken" });
  await writeOciLayout(src.path, [image]);
  await rm(join(src.path, "blobs", "sha256", image.blobs[1]!.descriptor.digest.slice(7)));
  await using h = await adminHarness();
  const { job: started } = (await (await h.api("POST", "/api/v1/sync", { source: src.path })).json()) as { job: JobView };
  const done = (await h.admin.jobs.wait(started.id))!;
  expect(done).toMatchObject({ state: "failed", report: { images: { failed: 1 } } });
  expect(done.error).toContain("acme/broken:1");
  await expect(h.store.resolve("acme/broken", "1")).rejects.toThrow();
});

test("a running sync is cancelled through its AbortSignal; a queued one ends at once", async () => {
  const registry = stallingRegistry();
  try {
    await using h = await adminHarness();
    const first = ((await (await h.api("POST", "/api/v1/sync", { source: registry.source })).json()) as { job: JobView }).job;
    const second = ((await (await h.api("POST", "/api/v1/sync", { source: registry.source })).json()) as { job: JobView }).job;
    await registry.streaming;
    const running = await until(h, first.id, (j) => j.progress.bytes.done > 0);
    expect(running).toMatchObject({ state: "running", progress: { phase: "copying", images: { done: 0, total: 1 } } });
    expect(running.progress.bytes.total).toBeGreaterThan(1 << 30);
    expect((await job(h, second.id)).state).toBe("queued");

    // The queued one first: it ends at once and never runs.
    const cancelQueued = await h.api("DELETE", `/api/v1/jobs/${second.id}`);
    expect(cancelQueued.status).toBe(202);
    expect(((await cancelQueued.json()) as { job: JobView }).job).toMatchObject({ state: "cancelled", error: "cancelled before it started" });

    const cancel = await h.api("DELETE", `/api/v1/jobs/${first.id}`);
    expect(cancel.status).toBe(202);
    expect(((await cancel.json()) as { job: JobView }).job).toMatchObject({ state: "running", cancelRequested: true });
    const done = (await h.admin.jobs.wait(first.id))!;
    expect(done).toMatchObject({ state: "cancelled", report: { interrupted: true } });
    expect(done.cancelRequested).toBeUndefined();
    await registry.hungUp;
    // Nothing half-written became visible.
    await expect(h.store.resolve("acme/slow", "1")).rejects.toThrow();
    expect((await h.store.metadata.totals()).blobs).toBeLessThanOrEqual(1);
  } finally {
    registry.stop();
  }
});

test("a gc job runs the collector with the request, reports, and counts in the metrics", async () => {
  const seen: GcRequest[] = [];
  await using h = await adminHarness({
    runGc: async (request) => {
      seen.push(request);
      return { report: { removed: { manifests: 2, blobs: 3 }, bytesFreed: 1234, dryRun: false }, bytesFreed: 1234 };
    },
  });
  const res = await h.api("POST", "/api/v1/gc", { keep: ["docker.io/acme/app:1.0"], graceSeconds: 60 });
  expect(res.status).toBe(202);
  const { job: started } = (await res.json()) as { job: JobView };
  const done = (await h.admin.jobs.wait(started.id))!;
  expect(done).toMatchObject({ kind: "gc", state: "succeeded", report: { removed: { manifests: 2, blobs: 3 }, bytesFreed: 1234 } });
  expect(seen).toEqual([{ keep: ["docker.io/acme/app:1.0"], graceSeconds: 60 }]);
  const metrics = await (await h.api("GET", "/metrics")).text();
  expect(metrics).toContain("stevedore_gc_runs_total 1\n");
  expect(metrics).toContain("stevedore_gc_freed_bytes_total 1234\n");
  expect(metrics).toContain('stevedore_jobs_finished_total{kind="gc",state="succeeded"} 1\n');
});

test("a failing collector fails its job with the message", async () => {
  await using h = await adminHarness({ runGc: async () => Promise.reject(new Error("the store is locked")) });
  const { job: started } = (await (await h.api("POST", "/api/v1/gc", {})).json()) as { job: JobView };
  expect(await h.admin.jobs.wait(started.id)).toMatchObject({ state: "failed", error: "the store is locked" });
  expect(await (await h.api("GET", "/metrics")).text()).toContain("stevedore_gc_failures_total 1\n");
});

test("the queue runs one job at a time, in order, and keeps a bounded history", async () => {
  const queue = new JobQueue({ keep: 2 });
  const order: string[] = [];
  const ids = ["a", "b", "c"].map((name) =>
    queue.submit("gc", { name }, async (ctx) => {
      order.push(`start ${name}`);
      ctx.progress({ bytes: { done: 1, total: 2 }, images: { done: 0, total: 0, failed: 0 } });
      await Bun.sleep(1);
      order.push(`end ${name}`);
      return { state: "succeeded", report: name };
    }).id,
  );
  for (const id of ids) await queue.wait(id);
  expect(order).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  expect(queue.list().map((j) => j.report)).toEqual(["c", "b"]);
  expect(queue.get(ids[0]!)).toBeUndefined();
  await queue.close();
  expect(() => queue.submit("gc", {}, async () => ({ state: "succeeded" }))).toThrow("closed");
});

test("the store's own collector behind POST /api/v1/gc: dry run, keep list, refusal of a list matching nothing", async () => {
  await using h = await adminHarness();
  const keepMe = await generateImage({ name: "docker.io/acme/keep:1", seed: "gc-keep", layerSize: 3000 });
  const dropMe = await generateImage({ name: "docker.io/acme/drop:1", seed: "gc-drop", layerSize: 5000 });
  for (const [repository, image] of [["acme/keep", keepMe], ["acme/drop", dropMe]] as const) {
    for (const b of image.blobs) await h.store.putBlob(repository, b.descriptor, new Blob([b.bytes]));
    await h.store.putManifest(repository, "1", { bytes: image.bytes, mediaType: image.descriptor.mediaType });
  }
  const run = async (body: unknown) => {
    const res = await h.api("POST", "/api/v1/gc", body);
    expect(res.status).toBe(202);
    return (await h.admin.jobs.wait(((await res.json()) as { job: JobView }).job.id))!;
  };
  const dropBytes = dropMe.blobs.reduce((s, b) => s + b.descriptor.size, 0);

  const dry = await run({ keep: ["docker.io/acme/keep:1"], dryRun: true, graceSeconds: 0 });
  expect(dry).toMatchObject({ state: "succeeded", report: { dryRun: true, tags: [{ repository: "acme/drop", tag: "1" }], bytesFreed: dropBytes } });
  expect((await h.store.metadata.totals()).manifests).toBe(2);

  const nothing = await run({ keep: ["docker.io/acme/elsewhere:9"], graceSeconds: 0 });
  expect(nothing.state).toBe("failed");
  expect(nothing.error).toContain('set "force": true to remove every image');
  expect((await h.store.metadata.totals()).manifests).toBe(2);

  const real = await run({ keep: ["docker.io/acme/keep:1"], graceSeconds: 0 });
  expect(real).toMatchObject({ state: "succeeded", report: { dryRun: false, tags: [{ repository: "acme/drop", tag: "1" }], bytesFreed: dropBytes } });
  const repos = ((await (await h.api("GET", "/api/v1/repositories")).json()) as { repositories: { name: string }[] }).repositories;
  expect(repos.map((r) => r.name)).toEqual(["acme/keep"]);
  const metrics = await (await h.api("GET", "/metrics")).text();
  expect(metrics).toContain(`stevedore_gc_freed_bytes_total ${dropBytes}\n`);
  expect(metrics).toContain("stevedore_gc_runs_total 3\n");
  expect(metrics).toContain("stevedore_gc_failures_total 1\n");
});
