/**
 * What a writer killed before its commit leaves beside its target (a
 * half-written blob, index.json, archive or staging directory) is removed
 * by the next writer of that place; what a live process is writing, and
 * anything that is not such a temporary, stays.
 */
import { expect, test } from "bun:test";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { OciLayoutHome } from "../../../src/transports/index.ts";
import { removeAbandonedTemps, tempPathFor } from "../../../src/transports/fs/durable-file.ts";
import { OciArchiveWriter } from "../../../src/transports/oci-archive/oci-archive-writer.ts";
import { tempDir } from "../store/fixtures.ts";

async function deadPid(): Promise<number> {
  const child = Bun.spawn(["true"]);
  await child.exited;
  return child.pid;
}

test("temporaries of dead processes go; a live process's, and other files, stay", async () => {
  await using dir = await tempDir();
  const dead = await deadPid();
  const names = {
    deadBlob: `.abc123.tmp-${dead}-0123abcd`,
    deadStaging: `.out.tar.tmp-${dead}-89abcdef`,
    mine: tempPathFor(join(dir.path, "index.json")).split("/").at(-1)!,
    live: `.index.json.tmp-1-0123abcd`, // pid 1 always runs
    other: "index.json",
    olderFormat: ".index.json.tmp-0123456789ab",
  };
  for (const [key, name] of Object.entries(names)) {
    if (key === "deadStaging") await mkdir(join(dir.path, name, "blobs"), { recursive: true });
    else await writeFile(join(dir.path, name), "x");
  }
  expect(await removeAbandonedTemps(dir.path, "out.tar")).toBe(1);
  expect(await removeAbandonedTemps(dir.path)).toBe(1);
  expect((await readdir(dir.path)).sort()).toEqual([names.live, names.mine, names.other, names.olderFormat].sort());
});

test("a layout opened for writing sweeps them; so does an archive writer beside its archive", async () => {
  await using dir = await tempDir();
  const dead = await deadPid();
  const layout = join(dir.path, "layout");
  await OciLayoutHome.open(layout, { create: true });
  await writeFile(join(layout, `.0a1b2c.tmp-${dead}-0123abcd`), "half a blob");
  await writeFile(join(layout, `.index.json.tmp-${dead}-0123abcd`), "{");
  await OciLayoutHome.open(layout, { create: true });
  expect((await readdir(layout)).sort()).toEqual(["blobs", "index.json", "oci-layout"]);

  const archive = join(dir.path, "out.tar");
  await mkdir(join(dir.path, `.out.tar.tmp-${dead}-0123abcd`, "blobs"), { recursive: true });
  await writeFile(join(dir.path, `.out.tar.tmp-${dead}-89abcdef`), "half a tar");
  const writer = await OciArchiveWriter.open(archive);
  const left = (await readdir(dir.path)).filter((n) => n.startsWith(".out.tar.tmp-"));
  // Only the writer's own staging directory.
  expect(left).toEqual([writer.staging.directory.split("/").at(-1)!]);
  await writer.close();
});
