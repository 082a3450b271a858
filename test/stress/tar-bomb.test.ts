/**
 * Tar bombs against the archive readers, with the work they cost measured:
 *
 * - a million and one empty entries (a 512 MB archive of headers): the
 *   index refuses it past its entry limit, in bounded time and memory,
 *   and `sync` and `bundle verify` say so in one line;
 * - entries declaring sizes far past the file (8 EiB in base-256, a pax
 *   size of 10^30, a GNU long name of a gigabyte): refused at once,
 *   nothing allocated for them.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { open, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { encodeHeader, encodePax } from "../../src/transports/tar/tar-header.ts";
import { TarIndex } from "../../src/transports/tar/tar-index.ts";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");
const ENTRIES = 1_000_001;
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "stevedore-tar-bomb-"));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function cli(...args: string[]) {
  const child = Bun.spawn([process.execPath, MAIN, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

function fixChecksum(block: Uint8Array): Uint8Array {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += block[i]!;
  block.set(new TextEncoder().encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  return block;
}

test(`${ENTRIES.toLocaleString("en")} entries: refused past the limit, in bounded time and memory`, async () => {
  const path = join(work, "many.tar");
  const handle = await open(path, "w");
  const batch = 4096;
  const buffer = new Uint8Array(512 * batch);
  for (let i = 0; i < ENTRIES; i += batch) {
    const n = Math.min(batch, ENTRIES - i);
    for (let j = 0; j < n; j++) buffer.set(encodeHeader({ name: `blobs/sha256/${i + j}`, size: 0, typeflag: "0", mode: 0o644, mtime: 0 }), j * 512);
    await handle.write(buffer, 0, n * 512);
  }
  await handle.write(new Uint8Array(1024));
  await handle.close();

  Bun.gc(true);
  const rss = process.memoryUsage().rss;
  const started = performance.now();
  const error = await TarIndex.open(path).then(
    () => undefined,
    (e: Error) => e,
  );
  const seconds = (performance.now() - started) / 1000;
  const grew = process.memoryUsage().rss - rss;
  expect(error?.message).toBe(`${path}: more than 1000000 tar entries; refusing`);
  console.log(`tar-bomb: ${ENTRIES} entries refused after ${seconds.toFixed(1)} s, RSS +${(grew / 1024 / 1024).toFixed(0)} MiB`);
  expect(seconds).toBeLessThan(60);
  expect(grew).toBeLessThan(768 * 1024 * 1024);

  for (const result of [await cli("bundle", "verify", path), await cli("sync", `oci-archive:${path}`, `store:${join(work, "store")}`)]) {
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^stevedore: ${path.replaceAll(".", "\\.")}: (not a bundle: )?more than 1000000 tar entries; refusing\n$`));
  }
});

test("sizes far past the file: refused at once, nothing allocated", async () => {
  const cases: Record<string, Uint8Array> = {};
  // 8 EiB in GNU base-256.
  const base256 = encodeHeader({ name: "blobs/sha256/aa", size: 0, typeflag: "0", mode: 0o644, mtime: 0 });
  base256.fill(0, 124, 136);
  base256[124] = 0x80;
  base256[128] = 0x7f;
  base256.fill(0xff, 129, 136);
  const first = encodeHeader({ name: "oci-layout", size: 0, typeflag: "0", mode: 0o644, mtime: 0 });
  cases["8 EiB in base-256"] = new Uint8Array([...first, ...fixChecksum(base256), ...new Uint8Array(1024)]);
  // A pax size record of 10^30.
  const pax = encodePax([["size", "1" + "0".repeat(30)]]);
  cases["a pax size of 10^30"] = new Uint8Array([
    ...encodeHeader({ name: "PaxHeaders/x", size: pax.byteLength, typeflag: "x", mode: 0o644, mtime: 0 }),
    ...pax,
    ...new Uint8Array(512 - pax.byteLength),
    ...encodeHeader({ name: "blobs/sha256/aa", size: 0, typeflag: "0", mode: 0o644, mtime: 0 }),
    ...new Uint8Array(1024),
  ]);
  // A GNU long name record claiming a gigabyte.
  const longName = encodeHeader({ name: "././@LongLink", size: 0o7777777777, typeflag: "0", mode: 0o644, mtime: 0 });
  longName[156] = "L".charCodeAt(0);
  cases["a GNU long name of a gigabyte"] = new Uint8Array([...fixChecksum(longName), ...new Uint8Array(1024)]);

  const outcomes: Record<string, string> = {};
  for (const [name, bytes] of Object.entries(cases)) {
    const path = join(work, `${name.replace(/\W+/g, "-")}.tar`);
    await writeFile(path, bytes);
    const rss = process.memoryUsage().rss;
    const started = performance.now();
    const error = await TarIndex.open(path).then(
      () => "opened",
      (e: Error) => e.message.replace(`${path}: `, ""),
    );
    const ms = performance.now() - started;
    outcomes[name] = `${error}${ms > 1000 ? " (slow)" : ""}${process.memoryUsage().rss - rss > 64 * 1024 * 1024 ? " (memory)" : ""}`;
  }
  expect(outcomes).toEqual({
    "8 EiB in base-256": expect.stringMatching(/too large|truncated tar/),
    "a pax size of 10^30": expect.stringMatching(/pax size .* is invalid/),
    "a GNU long name of a gigabyte": expect.stringMatching(/refusing|truncated tar/),
  });
});
