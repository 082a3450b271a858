/**
 * `stevedore bundle create` against skopeo: the standard release is pushed
 * into a CNCF registry (not measured), then pulled back into an OCI layout
 * directory by `bundle create -o DIR` and by the loop a user writes around
 * skopeo 1.9 (`skopeo copy --all docker://… oci:DIR:REF` per image, one at
 * a time: parallel copies into one layout race on its index.json). Also
 * `bundle create -o FILE.tar` (the layout plus one sequential tar pass), a
 * re-run into the same directory next to skopeo's re-run, and the memory
 * of the create process.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BenchContext } from "./context.ts";
import { startRegistry } from "./peers.ts";
import { check, MiB, type Ran, runTimed } from "./proc.ts";
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

    ctx.log(`bundle: stevedore bundle create -o DIR`);
    const dir = await create(join(scratch, "stevedore-dir"));
    ctx.log(`bundle: stevedore bundle create -o DIR again (everything present)`);
    const again = await create(join(scratch, "stevedore-dir"));
    ctx.log(`bundle: stevedore bundle create -o FILE.tar`);
    const tar = await create(join(scratch, "stevedore.tar"));

    ctx.log(`bundle: skopeo copy --all docker:// → oci:DIR loop (1 at a time)`);
    let skopeo: number | undefined;
    let skopeoAgain: number | undefined;
    let skopeoError: string | undefined;
    try {
      skopeo = await skopeoPull(bundle, registry.host, join(scratch, "skopeo-dir"), 1);
      skopeoAgain = await skopeoPull(bundle, registry.host, join(scratch, "skopeo-dir"), 1);
    } catch (error) {
      skopeoError = (error as Error).message.split("\n")[0]!;
    }
    const rate = (ran: Ran) => `${(bundle.bytes / 1e6 / ran.seconds).toFixed(0)} MB/s`;
    const peer = { peer: skopeo ?? null, peerName: "skopeo loop", ...(skopeoError ? { error: `skopeo: ${skopeoError}` } : {}) };
    ctx.add({
      ...base,
      ...peer,
      name: `bundle create ${size} → directory`,
      stevedore: dir.ran.seconds,
      target: 2,
      note: `stevedore ${rate(dir.ran)}, ${dir.summary.copy.blobs.pushed} blobs fetched; skopeo copy --all per image into one oci: layout`,
    });
    ctx.add({
      ...base,
      ...peer,
      name: `bundle create ${size} → .tar`,
      stevedore: tar.ran.seconds,
      target: 2,
      note: `stevedore ${rate(tar.ran)} including the reproducible tar pass; peer: the same skopeo loop (a directory, no tar)`,
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
      stevedore: Math.max(dir.ran.maxRss, tar.ran.maxRss) / MiB,
      peer: null,
      peerName: "—",
      limit: 200,
    });
  } finally {
    await registry.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
