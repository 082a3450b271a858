/**
 * The tar a bundle is written into as the copy runs: each blob lands in
 * its place, written by Bun and hashed there on a worker thread, in
 * whatever order blobs arrive; a body that does not fit its place can
 * never be finished into an archive.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BundleContents } from "../../../src/bundle/bundle-contents.ts";
import { BundleArchive } from "../../../src/bundle/bundle-archive.ts";
import { ContentMismatchError, type Digest, digestOf } from "../../../src/digest/index.ts";
import { TarIndex } from "../../../src/transports/index.ts";

const dir = mkdtempSync(join(tmpdir(), "bundle-archive-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const blobOf = (size: number, seed: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length: size }, (_, i) => (i * seed) & 0xff);

/** Just what laying out an archive reads: its blobs and an index. */
function contentsOf(blobs: Uint8Array[]): BundleContents {
  const index = new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}');
  return {
    named: [],
    referrers: [],
    content: new Map(blobs.map((b) => [digestOf(b), b.byteLength])),
    omitted: new Map(),
    manifests: new Map(),
    index,
    indexDigest: digestOf(index),
    dockerImages: 0,
  };
}

/** A stream made in JavaScript, in a few chunks. */
function streamOf(bytes: Uint8Array<ArrayBuffer>): ReadableStream<Uint8Array> {
  return new Blob([bytes.subarray(0, 1000), bytes.subarray(1000)]).stream().pipeThrough(new TransformStream());
}

test("blobs arriving in any order, as streams or files, each in its place; progress adds up", async () => {
  const blobs = [blobOf(70_000, 3), blobOf(5_000, 5), blobOf(123_457, 7)];
  const path = join(dir, "ok.tar");
  const archive = await BundleArchive.create(path);
  await archive.prepare(contentsOf(blobs));
  let progress = 0;
  const count = (bytes: number) => void (progress += bytes);
  await Bun.write(join(dir, "file-body"), blobs[0]!);
  await Promise.all([
    archive.writeBlob("r", { digest: digestOf(blobs[2]!), size: blobs[2]!.byteLength }, streamOf(blobs[2]!), count),
    archive.writeBlob("r", { digest: digestOf(blobs[0]!), size: blobs[0]!.byteLength }, Bun.file(join(dir, "file-body")), count),
    archive.writeBlob("r", { digest: digestOf(blobs[1]!), size: blobs[1]!.byteLength }, new Blob([blobs[1]!]), count),
  ]);
  await archive.finish();
  expect(progress).toBe(blobs.reduce((n, b) => n + b.byteLength, 0));
  const tar = await TarIndex.open(path);
  for (const blob of blobs) {
    const entry = tar.resolve(`blobs/sha256/${digestOf(blob).slice("sha256:".length)}`)!;
    expect(new Uint8Array(await Bun.file(path).slice(entry.offset, entry.offset + entry.size).arrayBuffer())).toEqual(blob);
  }
});

test("a wrong body is refused and its place stays to be filled; one that runs past its place makes the archive unfinishable", async () => {
  const blobs = [blobOf(40_000, 3), blobOf(40_000, 11)];
  const [a, b] = blobs.map((x) => ({ digest: digestOf(x) as Digest, size: x.byteLength }));
  const path = join(dir, "bad.tar");
  const archive = await BundleArchive.create(path);
  await archive.prepare(contentsOf(blobs));
  const wrong = await archive.writeBlob("r", a!, streamOf(blobs[1]!), () => {}).catch((e) => e);
  expect(wrong).toBeInstanceOf(ContentMismatchError);
  expect(await archive.statBlob("r", a!.digest)).toBeUndefined();
  await archive.writeBlob("r", a!, streamOf(blobs[0]!), () => {});
  expect(await archive.statBlob("r", a!.digest)).toBe(40_000);
  // Longer than its place: into the next entry, which must not be finished into an archive.
  const longer = new Uint8Array(40_100);
  longer.set(blobs[1]!);
  const overrun = await archive.writeBlob("r", b!, streamOf(longer), () => {}).catch((e) => e);
  expect(overrun).toBeInstanceOf(ContentMismatchError);
  await expect(archive.finish()).rejects.toThrow(`${b!.digest} came with more than its 40000 bytes`);
  await archive.abort();
  expect(readdirSync(dir).filter((n) => n.includes("bad.tar"))).toEqual([]);
});
