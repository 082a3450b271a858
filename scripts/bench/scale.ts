/**
 * Scale-out: push and pull of the standard generated release through one
 * and through three `serve` processes sharing PostgreSQL and Ceph RGW,
 * next to the embedded default (files and SQLite, one process), in the
 * same run. Each row's ratio is against the embedded default. The same
 * skopeo loop drives every configuration (`--parallel` copies at once;
 * with three processes, image i goes to process i mod 3 and is pulled
 * back through the next one).
 *
 * Where the time goes: CPU seconds of each component (the serve
 * processes, PostgreSQL, radosgw, the Ceph OSD and monitor) over each
 * phase, read from /proc, and the PostgreSQL transactions (every
 * statement outside a transaction counts as one: round trips, roughly).
 *
 *   bun scripts/bench/scale.ts                 full size (the release of run.ts)
 *   bun scripts/bench/scale.ts --quick         small sizes (a smoke test)
 *   bun scripts/bench/scale.ts --no-build      use dist/stevedore as it is
 *   bun scripts/bench/scale.ts --out FILE      JSON results (default .bench/scale.json)
 *
 * PostgreSQL runs durable (fsync on) in a temp cluster; Ceph comes from
 * ../shared/scripts/ceph-s3-start.sh; both are stopped when this ends.
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { SQL } from "bun";
import { cephBucket, startCeph } from "../../test/helpers/ceph-s3.ts";
import { createPostgresCluster, postgresDatabase } from "../../test/helpers/postgres.ts";
import { SIZES } from "./context.ts";
import { check, freePort, MiB, pool, runTimed } from "./proc.ts";
import { evaluate, formatTable, type Row } from "./results.ts";
import { type BundleImage, bundleImages } from "./skopeo-loop.ts";
import { CACHE, layoutBlobFiles, releaseBundle, ROOT, warm } from "./workload.ts";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    parallel: { type: "string", default: "3" },
    out: { type: "string", default: join(CACHE, "scale.json") },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: bun scripts/bench/scale.ts [--quick] [--no-build] [--parallel N] [--out FILE]");
  process.exit(0);
}
const parallel = Number(values.parallel);
const sizes = SIZES[values.quick ? "quick" : "full"];
const started = performance.now();
const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const executable = join(ROOT, "dist", "stevedore");
if (!values["no-build"]) {
  log("building dist/stevedore");
  check(await runTimed([process.execPath, join(ROOT, "scripts", "build.ts")], { cwd: ROOT }), "npm run build");
}

const bundle = await releaseBundle(sizes.label, sizes.release, log);
await warm(await layoutBlobFiles(bundle.dir));
const images = bundleImages(bundle);

log("starting PostgreSQL (durable) and Ceph RGW");
const [pg, ceph] = await Promise.all([createPostgresCluster({ durable: true }), startCeph()]);
const CLOCK_TICKS = 100;

// --- processes and their CPU time ----------------------------------------------

interface Serve {
  pid: number;
  host: string;
  stop(): Promise<void>;
}

async function startServe(args: string[], env: Record<string, string> = {}): Promise<Serve> {
  const dir = mkdtempSync(join(tmpdir(), "bench-scale-"));
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const logFile = join(dir, "serve.log");
  const fd = openSync(logFile, "w");
  const child = Bun.spawn([executable, "serve", "--addr", host, "--root", join(dir, "root"), ...args], {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || performance.now() > deadline) {
      const text = readFileSync(logFile, "utf8");
      await stop();
      throw new Error(`serve did not start: ${text.slice(-1500)}`);
    }
    const ok = await fetch(`http://${host}/v2/`).then((r) => r.ok, () => false);
    if (ok) break;
    await Bun.sleep(50);
  }
  return { pid: child.pid, host, stop };
}

function stat(pid: number): { ppid: number; cpu: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/** A process and its direct children (PostgreSQL's backends), CPU seconds so far. */
function treeCpu(pid: number): number {
  let total = stat(pid)?.cpu ?? 0;
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s?.ppid === pid) total += s.cpu;
  }
  return total;
}

function cephPid(name: string): number {
  return Number(readFileSync(join(ceph.dir, "pids", `${name}.pid`), "utf8").trim());
}

const postmaster = Number(readFileSync(join(pg.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);

function components(serves: Serve[]): Record<string, number> {
  return {
    serve: serves.reduce((sum, s) => sum + treeCpu(s.pid), 0),
    postgres: treeCpu(postmaster),
    radosgw: treeCpu(cephPid("rgw.a")),
    "ceph-osd": treeCpu(cephPid("osd.0")),
    "ceph-mon": treeCpu(cephPid("mon.a")),
  };
}

async function commits(): Promise<number> {
  const sql = new SQL(pg.url());
  try {
    const [row] = await sql`SELECT SUM(xact_commit)::bigint AS n FROM pg_stat_database`;
    return Number(row.n);
  } finally {
    await sql.close();
  }
}

// --- the workload ----------------------------------------------------------------

async function skopeoCopy(from: string, to: string, tls: string): Promise<void> {
  check(await runTimed(["skopeo", "copy", "--all", "--quiet", tls, from, to]), `skopeo copy ${from} ${to}`);
}

interface Phase {
  seconds: number;
  cpu: Record<string, number>;
  commits: number;
}

async function measure(serves: Serve[], work: () => Promise<void>): Promise<Phase> {
  const cpu0 = components(serves);
  const commits0 = await commits();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = components(serves);
  const cpu = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, Math.round((v - cpu0[k]!) * 100) / 100]));
  return { seconds, cpu, commits: (await commits()) - commits0 };
}

const push = (serves: Serve[]) =>
  measure(serves, () =>
    pool(
      images.map((image, i) => [image, i] as [BundleImage, number]),
      parallel,
      ([image, i]) => skopeoCopy(`oci:${bundle.dir}:${image.name}`, `docker://${serves[i % serves.length]!.host}/${image.repository}:${image.tag}`, "--dest-tls-verify=false"),
    ),
  );

async function pull(serves: Serve[]): Promise<Phase> {
  const dir = mkdtempSync(join(tmpdir(), "bench-scale-pull-"));
  try {
    return await measure(serves, () =>
      pool(
        images.map((image, i) => [image, i] as [BundleImage, number]),
        parallel,
        ([image, i]) =>
          skopeoCopy(`docker://${serves[(i + 1) % serves.length]!.host}/${image.repository}:${image.tag}`, `oci:${join(dir, String(i))}:x`, "--src-tls-verify=false"),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sharedArgs(): Promise<{ args: string[]; env: Record<string, string> }> {
  const [databaseUrl, bucket] = await Promise.all([postgresDatabase(pg, "bench"), cephBucket("bench")]);
  return { args: ["--metadata", databaseUrl, "--blobs", bucket.url], env: bucket.env };
}

type Config = "embedded, 1 process" | "Postgres+RGW, 1 process" | "Postgres+RGW, 3 processes" | "Postgres+RGW, 3 processes, redirected GETs";
const results: Partial<Record<Config, { push?: Phase; pull: Phase }>> = {};

async function run(config: Config, start: () => Promise<Serve[]>, phases: { push: boolean } = { push: true }): Promise<Serve[]> {
  log(`${config}: push and pull of ${images.length} images (${(bundle.bytes / MiB).toFixed(0)} MiB), ${parallel} at once`);
  const serves = await start();
  const pushed = phases.push ? await push(serves) : undefined;
  if (pushed) log(`  push ${pushed.seconds.toFixed(2)} s; cpu ${JSON.stringify(pushed.cpu)}; ${pushed.commits} pg transactions`);
  const pulled = await pull(serves);
  log(`  pull ${pulled.seconds.toFixed(2)} s; cpu ${JSON.stringify(pulled.cpu)}; ${pulled.commits} pg transactions`);
  results[config] = { ...(pushed ? { push: pushed } : {}), pull: pulled };
  return serves;
}

try {
  const embedded = await run("embedded, 1 process", async () => [await startServe([])]);
  await Promise.all(embedded.map((s) => s.stop()));

  const one = await sharedArgs();
  const single = await run("Postgres+RGW, 1 process", async () => [await startServe(one.args, one.env)]);
  await Promise.all(single.map((s) => s.stop()));

  const three = await sharedArgs();
  const trio = await run("Postgres+RGW, 3 processes", () => Promise.all([0, 1, 2].map(() => startServe(three.args, three.env))));
  await Promise.all(trio.map((s) => s.stop()));
  // The same store again, blob GETs answered with redirects to the bucket: pull only.
  const redirected = await run(
    "Postgres+RGW, 3 processes, redirected GETs",
    () => Promise.all([0, 1, 2].map(() => startServe([...three.args, "--blob-redirect"], three.env))),
    { push: false },
  );
  await Promise.all(redirected.map((s) => s.stop()));
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
}

// --- report ------------------------------------------------------------------------

const base = results["embedded, 1 process"];
const rows: Row[] = [];
const cpuNote = (p: Phase) =>
  `cpu s: ${Object.entries(p.cpu)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ")}; ${p.commits} pg transactions`;
for (const config of Object.keys(results) as Config[]) {
  if (config === "embedded, 1 process") continue;
  for (const phase of ["push", "pull"] as const) {
    const mine = results[config]?.[phase];
    if (!mine) continue;
    rows.push({
      bench: "scale",
      name: `skopeo ${phase}, ${config}`,
      unit: "s",
      better: "lower",
      stevedore: mine.seconds,
      peer: base?.[phase]?.seconds ?? null,
      peerName: "embedded",
      note: cpuNote(mine),
    });
  }
}
const evaluated = rows.map(evaluate);
const report = {
  date: new Date().toISOString(),
  mode: sizes.label,
  parallel,
  seconds: (performance.now() - started) / 1000,
  machine: { cpus: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30) },
  workload: { images: images.length, blobs: bundle.blobs, bytes: bundle.bytes, release: bundle.options },
  phases: results,
  rows: evaluated,
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nworkload ${images.length} images, ${bundle.blobs} blobs, ${(bundle.bytes / MiB).toFixed(0)} MiB (${sizes.label}) · ${report.machine.cpus} CPUs · ${parallel} copies at once`);
if (base) {
  console.log(`embedded default: push ${base.push!.seconds.toFixed(2)} s (${cpuNote(base.push!)}), pull ${base.pull.seconds.toFixed(2)} s (${cpuNote(base.pull)})`);
}
console.log(formatTable(evaluated));
console.log(`\nthe × column is the embedded default's time over this configuration's (below 1: slower) · results in ${values.out}`);
