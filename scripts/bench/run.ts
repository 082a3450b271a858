/**
 * The benchmarks of `serve` and `sync` against their peers (the CNCF
 * registry, skopeo), measured in the same run on the same generated images
 * and reported as ratios: this machine is shared and noisy, a ratio between
 * neighbours in time means more than an absolute figure.
 *
 *   npm run bench                      every bench, full size (~10 minutes)
 *   npm run bench -- registry          one bench: registry | sync | bundle
 *   npm run bench -- --quick           small sizes, short runs (a smoke test)
 *   npm run bench -- --no-build        use dist/stevedore as it is
 *   npm run bench -- --out FILE        JSON results (default .bench/results.json)
 *
 * Everything runs on 127.0.0.1 with temp dirs; the workload is cached under
 * .bench/. Exit code 0 even when a target is missed (benchmarks are not
 * tests); 1 when a bench could not run.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import type { BenchContext } from "./context.ts";
import { SIZES } from "./context.ts";
import { bundleBench } from "./bundle-bench.ts";
import { check, runTimed } from "./proc.ts";
import { registryBench } from "./registry-bench.ts";
import { evaluate, formatTable, type Row } from "./results.ts";
import { syncBench } from "./sync-bench.ts";
import { CACHE, layoutBlobFiles, releaseBundle, ROOT, warm } from "./workload.ts";

const BENCHES = { registry: registryBench, sync: syncBench, bundle: bundleBench } as const;
type BenchName = keyof typeof BENCHES;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    out: { type: "string", default: join(CACHE, "results.json") },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log("Usage: bun scripts/bench/run.ts [registry|sync|bundle ...] [--quick] [--no-build] [--out FILE]");
  process.exit(0);
}
for (const name of positionals) {
  if (!(name in BENCHES)) {
    console.error(`bench: unknown bench ${JSON.stringify(name)}; choose from ${Object.keys(BENCHES).join(", ")}`);
    process.exit(2);
  }
}
const selected = (positionals.length ? positionals : Object.keys(BENCHES)) as BenchName[];
const sizes = SIZES[values.quick ? "quick" : "full"];
const started = performance.now();
const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const executable = join(ROOT, "dist", "stevedore");
if (!values["no-build"]) {
  log("building dist/stevedore");
  check(await runTimed([process.execPath, join(ROOT, "scripts", "build.ts")], { cwd: ROOT }), "npm run build");
}
const version = async (cmd: string[]) => {
  const ran = await runTimed(cmd).catch(() => undefined);
  return ran?.code === 0 ? (ran.stdout || ran.stderr).trim().split("\n")[0]! : "unavailable";
};
const versions = {
  stevedore: await version([executable, "--version"]),
  bun: Bun.version,
  skopeo: await version(["skopeo", "--version"]),
  "docker-registry": await version(["docker-registry", "--version"]),
};

const bundle = await releaseBundle(sizes.label, sizes.release, log);
await warm(await layoutBlobFiles(bundle.dir));

const rows: Row[] = [];
const ctx: BenchContext = {
  sizes,
  stevedore: [executable],
  bundle,
  log,
  add: (row) => {
    rows.push(row);
    const r = evaluate(row);
    log(`  ${r.name}: stevedore ${r.stevedore?.toFixed(2) ?? "—"} vs ${r.peerName} ${r.peer?.toFixed(2) ?? "—"} ${r.unit}${r.error ? ` ERROR ${r.error}` : ""}`);
  },
};

let failed = false;
for (const name of selected) {
  log(`bench ${name} (${sizes.label})`);
  try {
    await BENCHES[name](ctx);
  } catch (error) {
    failed = true;
    rows.push({ bench: name, name: "(bench aborted)", unit: "", better: "higher", stevedore: null, peer: null, peerName: "—", error: (error as Error).message.split("\n")[0]! });
    log(`bench ${name} failed: ${(error as Error).stack ?? error}`);
  }
}

const results = rows.map(evaluate);
const report = {
  date: new Date().toISOString(),
  mode: sizes.label,
  seconds: (performance.now() - started) / 1000,
  machine: { cpus: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30) },
  versions,
  workload: { images: bundle.images.length, blobs: bundle.blobs, bytes: bundle.bytes, release: bundle.options, bigBlob: sizes.bigBlob, hugeBlob: sizes.hugeBlob },
  rows: results,
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);

console.log(
  `\n${versions.stevedore} · skopeo ${versions.skopeo.replace(/^skopeo version /, "")} · ${versions["docker-registry"]} · ` +
    `${report.machine.cpus} CPUs · workload ${bundle.images.length} images, ${bundle.blobs} blobs, ${(bundle.bytes / 2 ** 20).toFixed(0)} MiB (${sizes.label})\n`,
);
console.log(formatTable(results));
console.log(`\n${results.filter((r) => r.ok === false).length} of ${results.filter((r) => r.ok !== null).length} checked rows miss their target · ${report.seconds.toFixed(0)} s · results in ${values.out}`);
process.exitCode = failed ? 1 : 0;
