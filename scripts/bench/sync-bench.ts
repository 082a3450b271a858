/**
 * `stevedore sync` against skopeo, the bundle into a fresh CNCF registry
 * each time: the first sync, a re-sync with everything present, the
 * memory of the sync process; then `oci:` → `store:` next to `sha256sum`
 * and `cp` of the same bytes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchContext } from "./context.ts";
import { type Registry, startRegistry } from "./peers.ts";
import { check, median, MiB, type Ran, runTimed } from "./proc.ts";
import type { Row } from "./results.ts";
import { bundleImages, skopeoPush } from "./skopeo-loop.ts";
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

function errorOf(error: unknown): string {
  return (error as Error).message.split("\n")[0]!;
}

export async function syncBench(ctx: BenchContext): Promise<void> {
  const { bundle } = ctx;
  const n = bundleImages(bundle).length;
  const size = `${n} images, ${(bundle.bytes / MiB).toFixed(0)} MiB`;
  const source = `oci:${bundle.dir}`;
  const base = { bench: BENCH, unit: "s", better: "lower" as const };

  ctx.log(`sync: stevedore sync ${size} into docker-registry`);
  let first: { seconds: number; maxRss: number; resync: number[] } | undefined;
  let stevedoreError: string | undefined;
  try {
    first = await withRegistry(ctx, async (registry) => {
      const { ran } = await stevedoreSync(ctx, source, `docker://${registry.host}`, "synced");
      const resync: number[] = [];
      for (let i = 0; i < ctx.sizes.resyncTrials; i++) resync.push((await stevedoreSync(ctx, source, `docker://${registry.host}`, "skipped")).ran.seconds);
      return { seconds: ran.seconds, maxRss: ran.maxRss, resync };
    });
  } catch (error) {
    stevedoreError = errorOf(error);
  }

  // skopeo: one copy per image, in a row and 4 at a time; the faster loop is the peer.
  const loops: { parallel: number; seconds?: number; again?: number; error?: string }[] = [{ parallel: 1 }, { parallel: 4 }];
  for (const loop of loops) {
    ctx.log(`sync: skopeo copy loop (${loop.parallel} at a time)`);
    try {
      await withRegistry(ctx, async (registry) => {
        loop.seconds = await skopeoPush(bundle, registry.host, loop.parallel);
        loop.again = await skopeoPush(bundle, registry.host, loop.parallel);
      });
    } catch (error) {
      loop.error = errorOf(error);
    }
  }
  const best = (key: "seconds" | "again") => {
    const done = loops.filter((l) => l[key] !== undefined);
    return done.length ? done.reduce((a, b) => (b[key]! < a[key]! ? b : a)) : undefined;
  };
  const describe = (key: "seconds" | "again") =>
    loops.map((l) => `${l.parallel} at a time ${l[key] !== undefined ? `${l[key]!.toFixed(2)} s` : `failed: ${l.error}`}`).join(", ");
  const skopeoError = loops.every((l) => l.error) ? loops.map((l) => l.error).join("; ") : undefined;
  const error = [stevedoreError && `stevedore: ${stevedoreError}`, skopeoError && `skopeo: ${skopeoError}`].filter(Boolean).join("; ") || undefined;
  const firstBest = best("seconds");
  const againBest = best("again");

  ctx.add({
    ...base,
    name: `sync ${size} → docker-registry`,
    stevedore: first?.seconds ?? null,
    peer: firstBest?.seconds ?? null,
    peerName: `skopeo loop (best of 2)`,
    target: 2,
    note: `skopeo copy --all per image: ${describe("seconds")}; stevedore ${first ? `${(bundle.bytes / 1e6 / first.seconds).toFixed(0)} MB/s` : "—"}`,
    ...(error ? { error } : {}),
  });
  ctx.add({
    ...base,
    name: `re-sync, all ${n} present (median of ${ctx.sizes.resyncTrials})`,
    stevedore: first ? median(first.resync) : null,
    peer: againBest?.again ?? null,
    peerName: `skopeo loop (best of 2)`,
    target: 20,
    limit: 1,
    note: `skopeo re-run: ${describe("again")}`,
    ...(error ? { error } : {}),
  });
  ctx.add({
    ...base,
    name: "sync process RSS peak (VmHWM)",
    unit: "MiB",
    stevedore: first ? first.maxRss / MiB : null,
    peer: null,
    peerName: "—",
    limit: 150,
    ...(stevedoreError ? { error: stevedoreError } : {}),
  });

  ctx.log(`sync: oci: → store: import of ${size}, next to sha256sum and cp`);
  const files = await layoutBlobFiles(bundle.dir);
  const scratch = mkdtempSync(join(tmpdir(), "bench-import-"));
  const rate = (seconds: number) => bundle.bytes / 1e6 / seconds;
  try {
    let imported: Ran | undefined;
    let importError: string | undefined;
    try {
      imported = (await stevedoreSync(ctx, source, `store:${join(scratch, "store")}`, "synced")).ran;
    } catch (error) {
      importError = errorOf(error);
    }
    const hashed = check(await runTimed(["sha256sum", ...files]), "sha256sum");
    const copied = check(
      await runTimed(["sh", "-c", 'mkdir "$2" && cp -r "$1" "$2/" && sync -f "$2"', "sh", join(bundle.dir, "blobs"), join(scratch, "copy")]),
      "cp -r",
    );
    const mbps = imported ? rate(imported.seconds) : null;
    const importRow = { bench: BENCH, unit: "MB/s", better: "higher" as const, stevedore: mbps, target: 0.7, ...(importError ? { error: importError } : {}) };
    ctx.add({ ...importRow, name: "oci: → store: import vs sha256sum", peer: rate(hashed.seconds), peerName: "sha256sum", note: "page cache warm; target 0.7 = our reading of 'close to the hash limit'" });
    ctx.add({ ...importRow, name: "oci: → store: import vs cp -r + sync", peer: rate(copied.seconds), peerName: "cp -r + sync" });
    ctx.add({
      ...base,
      name: "import process RSS peak (VmHWM)",
      unit: "MiB",
      stevedore: imported ? imported.maxRss / MiB : null,
      peer: null,
      peerName: "—",
      limit: 150,
      ...(importError ? { error: importError } : {}),
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
