/**
 * `stevedore sync` against skopeo, the bundle into a fresh CNCF registry
 * each time: the first sync, a re-sync with everything present, the
 * memory of the sync process; then `oci:` → `store:` next to `sha256sum`,
 * `openssl` and `cp` of the same bytes. Each figure is the best of a few
 * alternating trials (trials.ts).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchContext } from "./context.ts";
import { type Registry, startRegistry } from "./peers.ts";
import { check, MiB, type Ran, runTimed } from "./proc.ts";
import { bundleImages, skopeoPush } from "./skopeo-loop.ts";
import { alternate, figures } from "./trials.ts";
import { layoutBlobFiles } from "./workload.ts";

const BENCH = "sync";

interface Summary {
  images: { total: number; synced: number; skipped: number; failed: number };
  blobs: { pushed: number; mounted: number; skipped: number };
  seconds: number;
  failures: { image: string; error: string }[];
}

/** Run `stevedore sync ... --json`; the summary must say every image made it. */
async function stevedoreSync(ctx: BenchContext, source: string, destination: string, expect: "synced" | "skipped"): Promise<{ ran: Ran; summary: Summary }> {
  const ran = check(await runTimed([...ctx.stevedore, "sync", source, destination, "--json"], { timeoutMs: 900_000 }), "stevedore sync");
  const last = ran.stdout.trim().split("\n").at(-1) ?? "";
  let summary: Summary;
  try {
    summary = JSON.parse(last) as Summary;
  } catch {
    throw new Error(`stevedore sync printed no summary: ${JSON.stringify(ran.stdout.slice(-300))}`);
  }
  const n = ctx.bundle.images.length;
  if (summary.images?.[expect] !== n) throw new Error(`stevedore sync: expected ${n} images ${expect}, summary ${JSON.stringify(summary.images)}`);
  return { ran, summary };
}

async function withRegistry<T>(ctx: BenchContext, work: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = await startRegistry("docker-registry", { stevedore: ctx.stevedore });
  try {
    return await work(registry);
  } finally {
    await registry.stop();
  }
}

/** Write back dirty pages left by earlier rows, so that no run pays for another's writes. */
async function settleDisk(): Promise<void> {
  await runTimed(["sync"]);
}

type Copier = "stevedore" | "skopeo ×1" | "skopeo ×4";
const COPIERS: readonly Copier[] = ["stevedore", "skopeo ×1", "skopeo ×4"];

export async function syncBench(ctx: BenchContext): Promise<void> {
  const { bundle, sizes } = ctx;
  const n = bundleImages(bundle).length;
  const size = `${n} images, ${(bundle.bytes / MiB).toFixed(0)} MiB`;
  const source = `oci:${bundle.dir}`;

  ctx.log(`sync: ${size} into a fresh docker-registry: stevedore sync, skopeo loops 1 and 4 at a time; ${sizes.trials} trials`);
  const again: Partial<Record<Copier, number[]>> = {};
  let maxRss = 0;
  const first = await alternate(COPIERS, sizes.trials, "lower", async (copier) => {
    await settleDisk();
    return withRegistry(ctx, async (registry) => {
      const destination = `docker://${registry.host}`;
      if (copier === "stevedore") {
        const { ran } = await stevedoreSync(ctx, source, destination, "synced");
        maxRss = Math.max(maxRss, ran.maxRss);
        for (let i = 0; i < sizes.resyncTrials; i++) (again[copier] ??= []).push((await stevedoreSync(ctx, source, destination, "skipped")).ran.seconds);
        return ran.seconds;
      }
      const parallel = copier === "skopeo ×1" ? 1 : 4;
      const seconds = await skopeoPush(bundle, registry.host, parallel);
      (again[copier] ??= []).push(await skopeoPush(bundle, registry.host, parallel));
      return seconds;
    });
  });
  const best = (values: Partial<Record<Copier, number>>) => {
    const skopeo = (["skopeo ×1", "skopeo ×4"] as const).filter((c) => values[c] !== undefined);
    return skopeo.length ? Math.min(...skopeo.map((c) => values[c]!)) : null;
  };
  const againBest = Object.fromEntries(Object.entries(again).map(([c, v]) => [c, Math.min(...v)])) as Partial<Record<Copier, number>>;
  const note = (all: Partial<Record<Copier, number[]>>) => COPIERS.map((c) => `${c} ${figures(all[c], "s")}`).join("; ");
  const stevedoreError = first.error?.split("; ").find((e) => e.startsWith("stevedore"));
  const base = { bench: BENCH, unit: "s", better: "lower" as const, peerName: "skopeo copy loop (best)", ...(first.error ? { error: first.error } : {}) };

  ctx.add({
    ...base,
    name: `sync ${size} → docker-registry`,
    stevedore: first.values.stevedore ?? null,
    peer: best(first.values),
    target: 2,
    note: `skopeo copy --all per image, 1 or 4 at a time (xargs -P); ${note(first.all)}`,
  });
  ctx.add({
    ...base,
    name: `re-sync, all ${n} present`,
    stevedore: againBest.stevedore ?? null,
    peer: best(againBest),
    target: 20,
    limit: 1,
    note: note(again),
  });
  ctx.add({
    bench: BENCH,
    name: "sync process RSS peak (VmHWM)",
    unit: "MiB",
    better: "lower",
    stevedore: maxRss ? maxRss / MiB : null,
    peer: null,
    peerName: "—",
    limit: 150,
    ...(stevedoreError ? { error: stevedoreError } : {}),
  });

  ctx.log(`sync: oci: → store: import of ${size}, next to sha256sum, openssl and cp`);
  const files = await layoutBlobFiles(bundle.dir);
  const scratch = mkdtempSync(join(tmpdir(), "bench-import-"));
  const rate = (seconds: number) => bundle.bytes / 1e6 / seconds;
  let importRss = 0;
  try {
    type Reader = "stevedore" | "sha256sum" | "openssl" | "cp";
    const imported = await alternate<Reader>(["stevedore", "sha256sum", "openssl", "cp"], sizes.trials, "higher", async (reader, trial) => {
      const target = join(scratch, `${reader}-${trial}`);
      await settleDisk();
      let ran: Ran;
      switch (reader) {
        case "stevedore":
          ran = (await stevedoreSync(ctx, source, `store:${target}`, "synced")).ran;
          importRss = Math.max(importRss, ran.maxRss);
          break;
        case "sha256sum":
          ran = check(await runTimed(["sha256sum", ...files]), "sha256sum");
          break;
        case "openssl":
          ran = check(await runTimed(["openssl", "dgst", "-sha256", ...files]), "openssl dgst");
          break;
        case "cp":
          // A copy as durable as the store's: flushed before it counts as done.
          ran = check(await runTimed(["sh", "-c", 'mkdir "$2" && cp -r "$1" "$2/" && sync -f "$2"', "sh", join(bundle.dir, "blobs"), target]), "cp -r");
          break;
      }
      rmSync(target, { recursive: true, force: true });
      return rate(ran.seconds);
    });
    const mbps = imported.values.stevedore ?? null;
    const importError = imported.error?.split("; ").find((e) => e.startsWith("stevedore"));
    const common = { bench: BENCH, unit: "MB/s", better: "higher" as const, stevedore: mbps, ...(imported.error ? { error: imported.error } : {}) };
    const trialsNote = (["stevedore", "sha256sum", "openssl", "cp"] as const).map((r) => `${r} ${figures(imported.all[r], "MB/s", 0)}`).join("; ");
    ctx.add({ ...common, name: "oci: → store: import vs sha256sum", peer: imported.values.sha256sum ?? null, peerName: "sha256sum", target: 1, note: `page cache warm; ${trialsNote}` });
    ctx.add({
      ...common,
      name: "oci: → store: import vs openssl sha256",
      peer: imported.values.openssl ?? null,
      peerName: "openssl dgst -sha256",
      note: "the hash limit of this CPU (SHA extensions); not a target: the import also reads and writes",
    });
    ctx.add({
      ...common,
      name: "oci: → store: import vs cp -r + sync",
      peer: imported.values.cp ?? null,
      peerName: "cp -r + sync",
      target: 0.5,
      note: "0.5: reading, hashing and writing one stream on one core costs about twice a copy's time",
    });
    ctx.add({
      bench: BENCH,
      name: "import process RSS peak (VmHWM)",
      unit: "MiB",
      better: "lower",
      stevedore: importRss ? importRss / MiB : null,
      peer: null,
      peerName: "—",
      limit: 150,
      ...(importError ? { error: importError } : {}),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
