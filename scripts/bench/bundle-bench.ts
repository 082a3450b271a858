/**
 * `stevedore bundle create` against skopeo: the standard release is pushed
 * into a CNCF registry (not measured), then pulled back into an OCI layout
 * directory by `bundle create -o DIR` and by the loop a user writes around
 * skopeo 1.9 (`skopeo copy --all docker://… oci:DIR:REF` per image, one at
 * a time: parallel copies into one layout race on its index.json). Also
 * `bundle create -o FILE.tar` (blobs streamed into their places in the
 * tar), a re-run into the same directory next to skopeo's re-run, and the
 * memory of the create process. Trials alternate between the tools; the
 * medians are compared.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchContext } from "./context.ts";
import { startRegistry } from "./peers.ts";
import { check, median, MiB, type Ran, runTimed } from "./proc.ts";
import { bundleImages, skopeoPull } from "./skopeo-loop.ts";

const BENCH = "bundle";

interface CreateSummary {
  copy: { images: { total: number; synced: number; skipped: number }; blobs: { pushed: number }; bytes: number };
  blobs: number;
}

export async function bundleBench(ctx: BenchContext): Promise<void> {
  const { bundle } = ctx;
  const images = bundleImages(bundle);
  const size = `${images.length} images, ${(bundle.bytes / MiB).toFixed(0)} MiB`;
  const base = { bench: BENCH, unit: "s", better: "lower" as const };
  const registry = await startRegistry("docker-registry", { stevedore: ctx.stevedore });
  const scratch = mkdtempSync(join(tmpdir(), "bench-bundle-"));
  try {
    ctx.log(`bundle: filling docker-registry with ${size}`);
    check(await runTimed([...ctx.stevedore, "sync", `oci:${bundle.dir}`, `docker://${registry.host}`, "--json"], { timeoutMs: 900_000 }), "stevedore sync");
    const refs = images.map((i) => `${registry.host}/${i.repository}:${i.tag}`);

    /** `bundle create` into `output`; the JSON summary must name every image. */
    const create = async (output: string, ...flags: string[]): Promise<{ ran: Ran; summary: CreateSummary }> => {
      const ran = check(await runTimed([...ctx.stevedore, "bundle", "create", ...refs, "-o", output, "--json", ...flags], { timeoutMs: 900_000 }), "stevedore bundle create");
      const summary = JSON.parse(ran.stdout.trim().split("\n").at(-1) ?? "{}") as CreateSummary;
      const done = (summary.copy?.images.synced ?? 0) + (summary.copy?.images.skipped ?? 0);
      if (done !== images.length) throw new Error(`bundle create: expected ${images.length} images, summary ${JSON.stringify(summary.copy?.images)}`);
      return { ran, summary };
    };

    // Trials alternate between the tools so that a busy moment of this shared machine hits both; medians count.
    const trials = ctx.sizes.label === "full" ? 3 : 1;
    const dirs: Ran[] = [];
    const tars: Ran[] = [];
    const skopeoRuns: number[] = [];
    let skopeoAgain: number | undefined;
    let skopeoError: string | undefined;
    let dir: { ran: Ran; summary: CreateSummary } | undefined;
    for (let trial = 1; trial <= trials; trial++) {
      ctx.log(`bundle: trial ${trial} of ${trials}: bundle create -o DIR, -o FILE.tar; skopeo loop`);
      rmSync(join(scratch, "stevedore-dir"), { recursive: true, force: true });
      rmSync(join(scratch, "stevedore.tar"), { force: true });
      rmSync(join(scratch, "skopeo-dir"), { recursive: true, force: true });
      dir = await create(join(scratch, "stevedore-dir"));
      dirs.push(dir.ran);
      tars.push((await create(join(scratch, "stevedore.tar"))).ran);
      if (skopeoError) continue;
      try {
        skopeoRuns.push(await skopeoPull(bundle, registry.host, join(scratch, "skopeo-dir"), 1));
      } catch (error) {
        skopeoError = (error as Error).message.split("\n")[0]!;
      }
    }
    ctx.log(`bundle: re-runs into the same directories (everything present)`);
    const again = await create(join(scratch, "stevedore-dir"));
    if (!skopeoError) skopeoAgain = await skopeoPull(bundle, registry.host, join(scratch, "skopeo-dir"), 1).catch(() => undefined);
    const skopeo = skopeoRuns.length ? median(skopeoRuns) : undefined;
    const medianRan = (runs: Ran[]) => runs.slice().sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)]!;
    const dirRun = medianRan(dirs);
    const tarRun = medianRan(tars);
    const rate = (ran: Ran) => `${(bundle.bytes / 1e6 / ran.seconds).toFixed(0)} MB/s`;
    const runs = (values: number[]) => values.map((v) => v.toFixed(2)).join(", ");
    const peer = { peer: skopeo ?? null, peerName: `skopeo loop (median of ${skopeoRuns.length})`, ...(skopeoError ? { error: `skopeo: ${skopeoError}` } : {}) };
    ctx.add({
      ...base,
      ...peer,
      name: `bundle create ${size} → directory (median of ${trials})`,
      stevedore: dirRun.seconds,
      target: 2,
      note: `stevedore ${rate(dirRun)}, ${dir!.summary.copy.blobs.pushed} blobs fetched (runs ${runs(dirs.map((r) => r.seconds))} s); skopeo copy --all per image into one oci: layout (runs ${runs(skopeoRuns)} s)`,
    });
    ctx.add({
      ...base,
      ...peer,
      name: `bundle create ${size} → .tar (median of ${trials})`,
      stevedore: tarRun.seconds,
      target: 2,
      note: `stevedore ${rate(tarRun)}, streamed into the reproducible tar (runs ${runs(tars.map((r) => r.seconds))} s); peer: the same skopeo loop (a directory)`,
    });
    ctx.add({
      ...base,
      name: `bundle create again into the directory, all present`,
      stevedore: again.ran.seconds,
      peer: skopeoAgain ?? null,
      peerName: "skopeo loop re-run",
      target: 2,
      note: `stevedore fetched ${again.summary.copy.blobs.pushed} blobs`,
      ...(skopeoError ? { error: `skopeo: ${skopeoError}` } : {}),
    });
    ctx.add({
      ...base,
      name: "bundle create process RSS peak (VmHWM)",
      unit: "MiB",
      stevedore: Math.max(...dirs.map((r) => r.maxRss), ...tars.map((r) => r.maxRss)) / MiB,
      peer: null,
      peerName: "—",
      limit: 200,
    });
  } finally {
    await registry.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
