/**
 * The admin API of a real `stevedore serve`: its own port, the bearer
 * token from a file, numbers after pushing known images over HTTP, a sync
 * job from a path on the node, cancellation, metrics, pull times that
 * survive a restart, and refusals at start-up.
 */
import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { JobView, RepositoryView, TagView } from "../../../src/admin/index.ts";
import { isClosable } from "../../../src/oci/index.ts";
import type { UsageReport } from "../../../src/store/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import { openDestination, openSource } from "../../../src/transports/index.ts";
import { allBlobs, allManifests, type GeneratedManifest, generateImage, generateLayer, generateMultiArch, writeOciLayout } from "../../helpers/images.ts";
import { parsePrometheus } from "../../helpers/prometheus.ts";
import { stallingRegistry } from "../../helpers/stalling-registry.ts";
import { type RunningServe, startServe } from "../../helpers/stevedore-serve.ts";

const MAIN = resolve(import.meta.dir, "../../../src/main.ts");
const TOKEN = "integration-admin-token-0123456789";
const dir = mkdtempSync(join(tmpdir(), "stevedore-admin-it-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tokenFile = join(dir, "admin-token");
writeFileSync(tokenFile, `${TOKEN}\n`);
chmodSync(tokenFile, 0o600);

async function startWithAdmin(root?: string): Promise<RunningServe & { admin: string }> {
  const serve = await startServe({ ...(root ? { root } : {}), args: ["--admin-addr", "127.0.0.1:0", "--admin-token-file", tokenFile] });
  const admin = (await serve.waitFor(/admin API on (http:\/\/\S+)/))[1]!;
  return Object.assign(serve, { admin });
}

function api(serve: { admin: string }, method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  return fetch(`${serve.admin}${path}`, {
    method,
    headers: { ...(token !== null ? { Authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

async function waitForJob(serve: { admin: string }, id: string, done: (j: JobView) => boolean, timeoutMs = 20_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const j = ((await (await api(serve, "GET", `/api/v1/jobs/${id}`)).json()) as { job: JobView }).job;
    if (done(j)) return j;
    if (Date.now() > deadline) throw new Error(`job did not get there: ${JSON.stringify(j)}`);
    await Bun.sleep(20);
  }
}

/** Push a layout into the serve through the registry API, as `stevedore sync` does. */
async function pushLayout(layout: string, host: string) {
  const source = await openSource(`oci:${layout}`);
  const destination = await openDestination(host);
  try {
    const summary = await syncImages(source, destination);
    expect(summary.images.failed).toBe(0);
  } finally {
    for (const home of [source.home, destination.home]) if (isClosable(home)) await home.close();
  }
}

const reach = (m: GeneratedManifest) => [...allBlobs([m]), ...allManifests([m])].reduce((s, b) => s + b.descriptor.size, 0);

test("repositories, tags and usage of pushed images; metrics; pull times kept across a restart", async () => {
  const base = await generateLayer({ seed: "it-base", size: 5000 });
  const app = await generateImage({ name: "docker.io/acme/app:1.0", seed: "it-app", baseLayers: [base], layerSize: 800 });
  const multi = await generateMultiArch("docker.io/library/multi:2", { baseLayers: [base], layerSize: 400, seed: "it-multi" });
  const layout = join(dir, "pushed");
  await writeOciLayout(layout, [app, multi]);
  const root = mkdtempSync(join(tmpdir(), "stevedore-admin-root-"));
  try {
    let serve = await startWithAdmin(root);
    try {
      await pushLayout(layout, serve.host);
      const pulled = await fetch(`${serve.url}/v2/acme/app/manifests/1.0`, { headers: { Accept: app.descriptor.mediaType } });
      expect(pulled.status).toBe(200);
      await pulled.arrayBuffer();

      const repos = ((await (await api(serve, "GET", "/api/v1/repositories")).json()) as { repositories: RepositoryView[] }).repositories;
      expect(repos.map((r) => [r.name, r.tags, r.size])).toEqual([
        ["acme/app", 1, reach(app)],
        ["library/multi", 1, reach(multi)],
      ]);
      const tags = ((await (await api(serve, "GET", "/api/v1/repositories/library/multi/tags")).json()) as { tags: TagView[] }).tags;
      expect(tags.map((t) => [t.tag, t.digest, t.platforms, t.size])).toEqual([["2", multi.descriptor.digest, ["linux/amd64", "linux/arm64/v8"], reach(multi)]]);
      const usage = (await (await api(serve, "GET", "/api/v1/usage")).json()) as UsageReport;
      expect(usage.blobs.bytes).toBe(allBlobs([app, multi]).reduce((s, b) => s + b.descriptor.size, 0));
      expect(usage.shared).toEqual({ count: 1, bytes: base.descriptor.size });

      const metrics = parsePrometheus(await (await api(serve, "GET", "/metrics")).text());
      const sum = (name: string, labels: Record<string, string>) =>
        metrics.filter((l) => l.name === name && Object.entries(labels).every(([k, v]) => l.labels[k] === v)).reduce((s, l) => s + l.value, 0);
      expect(sum("stevedore_http_requests_total", { method: "PUT", route: "manifest" })).toBe(allManifests([app, multi]).length);
      expect(sum("stevedore_http_requests_total", { method: "GET", route: "manifest", status: "200" })).toBe(1);
      expect(sum("stevedore_http_received_bytes_total", {})).toBeGreaterThanOrEqual(usage.blobs.bytes);
      expect(sum("stevedore_store_blob_bytes", {})).toBe(usage.blobs.bytes);
      expect(sum("stevedore_uploads_in_progress", {})).toBe(0);
      // Without the token, /metrics is refused like the API.
      expect((await api(serve, "GET", "/metrics", undefined, null)).status).toBe(401);
      expect(serve.log()).not.toContain(TOKEN);
    } finally {
      expect(await serve.stop()).toBe(0);
    }
    // Pull times are flushed on stop and read back after a restart.
    serve = await startWithAdmin(root);
    try {
      const tags = ((await (await api(serve, "GET", "/api/v1/repositories/acme/app/tags")).json()) as { tags: TagView[] }).tags;
      expect(tags[0]!.lastPulled).toBeDefined();
    } finally {
      await serve.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a sync job from a path on the node imports into the served store; the registry serves it at once", async () => {
  const image = await generateImage({ name: "docker.io/acme/imported:3.1", seed: "it-import", layerSize: 20_000 });
  const layout = join(dir, "to-import");
  await writeOciLayout(layout, [image]);
  await using serve = await startWithAdmin();
  // Health needs no token; the API does.
  expect((await api(serve, "GET", "/healthz", undefined, null)).status).toBe(200);
  expect((await api(serve, "GET", "/readyz", undefined, null)).status).toBe(200);
  expect((await api(serve, "POST", "/api/v1/sync", { source: layout }, "wrong-token-0123456789")).status).toBe(401);
  const res = await api(serve, "POST", "/api/v1/sync", { source: layout, prefix: "site" });
  expect(res.status).toBe(202);
  const { job } = (await res.json()) as { job: JobView };
  const done = await waitForJob(serve, job.id, (j) => j.state !== "queued" && j.state !== "running");
  expect(done).toMatchObject({ state: "succeeded", progress: { images: { done: 1, total: 1 } }, report: { images: { synced: 1 } } });
  const manifest = await fetch(`${serve.url}/v2/site/acme/imported/manifests/3.1`, { headers: { Accept: image.descriptor.mediaType } });
  expect([manifest.status, manifest.headers.get("docker-content-digest")]).toEqual([200, image.descriptor.digest]);
  await manifest.arrayBuffer();
});

test("cancelling a running sync job over HTTP stops it", async () => {
  const registry = stallingRegistry();
  try {
    await using serve = await startWithAdmin();
    const { job } = (await (await api(serve, "POST", "/api/v1/sync", { source: registry.source })).json()) as { job: JobView };
    await registry.streaming;
    await waitForJob(serve, job.id, (j) => j.progress.bytes.done > 0);
    expect((await api(serve, "DELETE", `/api/v1/jobs/${job.id}`)).status).toBe(202);
    const done = await waitForJob(serve, job.id, (j) => j.state !== "running");
    expect(done).toMatchObject({ state: "cancelled", report: { interrupted: true } });
    await registry.hungUp;
  } finally {
    registry.stop();
  }
});

async function cli(args: string[]) {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

test.each<[string, string[], number, RegExp]>([
  ["--admin-addr without a token file", ["--admin-addr", "127.0.0.1:0"], 2, /--admin-addr needs --admin-token-file/],
  ["a token file without --admin-addr", ["--admin-token-file", "x"], 2, /--admin-token-file goes with --admin-addr/],
  ["a missing token file", ["--admin-addr", "127.0.0.1:0", "--admin-token-file", "/no/such/token"], 1, /Cannot read admin token file "\/no\/such\/token": no such file/],
  ["a bad admin address", ["--admin-addr", "nowhere", "--admin-token-file", "x"], 2, /invalid --admin-addr "nowhere"/],
])("serve refuses to start: %s", async (_, args, code, message) => {
  const root = join(dir, `refused-${code}-${args.length}`);
  const result = await cli(["serve", "--addr", "127.0.0.1:0", "--root", root, ...args]);
  expect([result.code, result.stdout]).toEqual([code, ""]);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
  expect(result.stderr).toMatch(message);
});

test("serve refuses a short token and never prints it", async () => {
  const short = join(dir, "short-token");
  writeFileSync(short, "hunter2\n");
  const result = await cli(["serve", "--addr", "127.0.0.1:0", "--root", join(dir, "short"), "--admin-addr", "127.0.0.1:0", "--admin-token-file", short]);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain("at least 16 characters");
  expect(result.stderr).not.toContain("hunter2");
});

test("serve --config: the admin API from a YAML file (token path relative to it), flags on the command line win", async () => {
  const configDir = mkdtempSync(join(dir, "config-"));
  writeFileSync(join(configDir, "token"), TOKEN);
  chmodSync(join(configDir, "token"), 0o600);
  writeFileSync(join(configDir, "serve.yaml"), `addr: 127.0.0.1:1\nlog-format: json\nadmin-addr: 127.0.0.1:0\nadmin-token-file: token\n`);
  // startServe passes --addr 127.0.0.1:0 and --root: they override the file's.
  await using serve = await startServe({ args: ["--config", join(configDir, "serve.yaml")] });
  const admin = (await serve.waitFor(/admin API on (http:\/\/\S+)/))[1]!;
  expect((await api({ admin }, "GET", "/api/v1/usage")).status).toBe(200);
  await fetch(`${serve.url}/v2/`);
  // log-format json came from the file.
  await serve.waitFor(/^\{"time":.*"path":"\/v2\/"/m);
});

test("serve --config with a gc schedule: gc jobs run on their own, keep what the list names, show in the admin API", async () => {
  const configDir = mkdtempSync(join(dir, "gc-config-"));
  writeFileSync(join(configDir, "token"), TOKEN, { mode: 0o600 });
  writeFileSync(join(configDir, "release.txt"), "# what the release needs\ndocker.io/acme/keep:1\n");
  writeFileSync(
    join(configDir, "serve.yaml"),
    ["admin-addr: 127.0.0.1:0", "admin-token-file: token", "gc:", "  interval: 1s", "  grace: \"0\"", "  keep: [release.txt]", ""].join("\n"),
  );
  const keep = await generateImage({ name: "docker.io/acme/keep:1", seed: "sched-keep" });
  const drop = await generateImage({ name: "docker.io/acme/drop:1", seed: "sched-drop" });
  const layout = join(configDir, "layout");
  await writeOciLayout(layout, [keep, drop]);
  await using serve = await startServe({ args: ["--config", join(configDir, "serve.yaml")] });
  const admin = (await serve.waitFor(/admin API on (http:\/\/\S+)/))[1]!;
  await pushLayout(layout, serve.host);
  await serve.waitFor(/scheduled gc: removed 1 tag, .*; freed /, 20_000);
  const catalog = (await (await fetch(`${serve.url}/v2/_catalog`)).json()) as { repositories: string[] };
  expect(catalog.repositories).toEqual(["acme/keep"]);
  const jobs = ((await (await api({ admin }, "GET", "/api/v1/jobs")).json()) as { jobs: JobView[] }).jobs;
  expect(jobs.some((j) => j.kind === "gc" && j.state === "succeeded" && (j.request as { scheduled?: boolean }).scheduled === true)).toBe(true);
});

test("serve --config refuses to start on a gc keep list it cannot read", async () => {
  const configDir = mkdtempSync(join(dir, "gc-bad-"));
  writeFileSync(join(configDir, "serve.yaml"), "gc:\n  interval: 1h\n  keep: [missing.txt]\n");
  const result = await cli(["serve", "--addr", "127.0.0.1:0", "--root", join(configDir, "root"), "--config", join(configDir, "serve.yaml")]);
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/Cannot read keep list ".*missing\.txt": no such file/);
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
});
