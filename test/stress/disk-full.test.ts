/**
 * A full disk for real: the store lives on a 24 MiB tmpfs (mounting one
 * needs root, as CI has). Pushes fill it until the registry answers 507;
 * then a filler file takes the last bytes, so the metadata database runs
 * out too. Every refusal is a 507 with a message (never a 500), nothing
 * half-written is visible, and once space returns (the volume grows)
 * the same pushes go through and pull intact; the store checks sound.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GeneratedManifest, generateImage } from "../helpers/images.ts";
import { PushClient, PushError, UPLOAD_STYLES } from "../helpers/push-client.ts";
import { checkStore } from "../helpers/store-check.ts";
import { run, startServe } from "../helpers/stevedore-serve.ts";

let mountPoint: string;
beforeAll(async () => {
  mountPoint = mkdtempSync(join(tmpdir(), "stevedore-disk-full-"));
  try {
    await run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mountPoint]);
  } catch (error) {
    rmSync(mountPoint, { recursive: true, force: true });
    throw new Error(`this test mounts a size-limited tmpfs and needs root for it: ${(error as Error).message}`);
  }
});
afterAll(async () => {
  await run(["umount", mountPoint]).catch(() => undefined);
  rmSync(mountPoint, { recursive: true, force: true });
});

test("pushes fill the disk: 507 with a message, nothing half-written, and all is well once space returns", async () => {
  const root = join(mountPoint, "store");
  const serve = await startServe({ root });
  const client = new PushClient(serve.url, { chunkSize: 256 * 1024 });
  const pushed: { tag: string; image: GeneratedManifest }[] = [];
  let databaseFull = 0;
  const refused: { tag: string; image: GeneratedManifest; status?: number; message: string }[] = [];
  try {
    for (let i = 0; refused.length < 3 && i < 40; i++) {
      const image = await generateImage({ seed: `disk-full-${i}`, layers: 2, layerSize: 900_000 });
      const tag = `v${i}`;
      try {
        await client.pushImage("full/app", tag, image, UPLOAD_STYLES[i % UPLOAD_STYLES.length]!);
        pushed.push({ tag, image });
      } catch (error) {
        if (!(error instanceof PushError)) throw error;
        refused.push({ tag, image, status: error.status, message: error.message });
      }
    }
    expect(pushed.length).toBeGreaterThan(3);
    expect(refused.map((r) => r.status)).toEqual([507, 507, 507]);
    for (const r of refused) expect(r.message).toContain("the store's disk is full");

    // The last bytes go to a filler: now the database cannot grow either.
    const filler = join(mountPoint, "filler");
    await run(["sh", "-c", `dd if=/dev/zero of=${filler} bs=64k 2>/dev/null || true`]);
    const statuses: number[] = [];
    const tiny = await generateImage({ seed: "disk-full-tiny", layers: 1, layerSize: 64 });
    for (const style of UPLOAD_STYLES) {
      for (const [i, b] of tiny.blobs.entries()) {
        await client.pushBlob(`full/tiny-${i}`, b, style).then(
          () => statuses.push(201),
          (error: PushError) => statuses.push(error.status ?? 0),
        );
      }
    }
    for (const d of ["alpha", "beta", "gamma"]) {
      // Tags on a manifest the store has: only the database grows.
      await client.pushManifest("full/app", d, pushed[0]!.image).then(
        () => statuses.push(201),
        (error: PushError) => statuses.push(error.status ?? 0),
      );
    }
    expect(statuses.filter((s) => s !== 201 && s !== 507)).toEqual([]);
    expect(statuses).toContain(507);

    // Nothing of the refused images is visible.
    for (const r of refused) {
      const head = await fetch(`${serve.url}/v2/full/app/manifests/${r.tag}`, { method: "HEAD" });
      expect(head.status).toBe(404);
    }
    // And what was acknowledged is intact.
    for (const p of pushed) await client.pullImage("full/app", p.tag, p.image.descriptor.digest);

    // Space returns (the operator grows the volume): the refused pushes go through, and pull intact.
    await run(["mount", "-o", "remount,size=64m", mountPoint]);
    for (const r of refused) {
      await client.pushImage("full/app", r.tag, r.image, "chunked");
      await client.pullImage("full/app", r.tag, r.image.descriptor.digest);
    }
    rmSync(filler);
    expect(serve.log()).not.toMatch(/ 500 /);
    databaseFull = serve.log().split("database or disk is full").length - 1;
  } finally {
    await serve.stop();
  }
  const check = await checkStore(root);
  expect(check.damage).toEqual([]);
  console.log(`disk-full: ${pushed.length} images pushed before the disk filled, ${refused.length} refused with 507; ${databaseFull} writes refused by the full database, also 507; ${check.blobs} blobs sound`);
});
