/**
 * File bodies (a Blob: a layout's file, a slice of an archive, bytes in
 * memory) stored through the filesystem driver's own buffer: the same
 * bytes as a stream would store, progress on the way, and on a wrong
 * size or digest, or a file that shrank, nothing visible and nothing
 * left in uploads/.
 */
import { expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdir, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestOf } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { Store } from "../../../src/store/index.ts";
import { blob, streamOf, tempDir } from "./fixtures.ts";

async function openStore(root: string) {
  const store = await Store.open({ root });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "stored";
  } catch (error) {
    if (error instanceof OciError) return `${error.code}: ${error.message}`;
    throw error;
  }
}

async function bytesOf(store: Store, repository: string, digest: ReturnType<typeof digestOf>): Promise<Uint8Array> {
  return new Uint8Array(await new Response((await store.blob(repository, digest)).stream()).arrayBuffer());
}

/** A few pieces and a ragged end. */
const SIZE = 3 * 256 * 1024 + 12_345;

test("a file, a slice of a file and bytes in memory are stored as they are, with nothing left in uploads/", async () => {
  await using dir = await tempDir();
  await using store = await openStore(join(dir.path, "store"));
  const whole = new Uint8Array(randomBytes(SIZE));
  const file = join(dir.path, "layer");
  await writeFile(file, whole);
  // An archive: the blob sits between other bytes, as a layer in a tar.
  const archive = join(dir.path, "archive.tar");
  const inner = new Uint8Array(randomBytes(SIZE - 1000));
  await writeFile(archive, Buffer.concat([randomBytes(512), inner, randomBytes(700)]));
  const memory = new Uint8Array(randomBytes(1000));

  const bodies = [
    { bytes: whole, body: Bun.file(file) },
    { bytes: inner, body: Bun.file(archive).slice(512, 512 + inner.byteLength) },
    { bytes: memory, body: new Blob([memory]) },
  ];
  for (const { bytes, body } of bodies) {
    const digest = digestOf(bytes);
    await store.putBlob("app", { digest, size: bytes.byteLength }, body);
    expect(await store.statBlob("app", digest)).toBe(bytes.byteLength);
    expect(Buffer.from(await bytesOf(store, "app", digest)).equals(Buffer.from(bytes))).toBe(true);
  }
  expect(await readdir(join(dir.path, "store", "uploads"))).toEqual([]);
});

test("sendBlob reports every byte, in steps, before it resolves", async () => {
  await using dir = await tempDir();
  await using store = await openStore(join(dir.path, "store"));
  const bytes = new Uint8Array(randomBytes(9 * 1024 * 1024 + 1));
  const file = join(dir.path, "layer");
  await writeFile(file, bytes);
  const digest = digestOf(bytes);
  const steps: number[] = [];
  await store.sendBlob("app", { digest, size: bytes.byteLength }, Bun.file(file), (n) => steps.push(n));
  expect(steps.reduce((a, b) => a + b, 0)).toBe(bytes.byteLength);
  expect(steps.length).toBeGreaterThan(1);
  // Already stored: the client's copy is still checked, and still counted.
  const again: number[] = [];
  await store.sendBlob("other", { digest, size: bytes.byteLength }, Bun.file(file), (n) => again.push(n));
  expect(again.reduce((a, b) => a + b, 0)).toBe(bytes.byteLength);
  expect(await store.statBlob("other", digest)).toBe(bytes.byteLength);
});

test("a wrong size, a wrong digest and a file that shrank while read: refused, nothing visible, nothing left", async () => {
  await using dir = await tempDir();
  await using store = await openStore(join(dir.path, "store"));
  const bytes = new Uint8Array(randomBytes(SIZE));
  const file = join(dir.path, "layer");
  await writeFile(file, bytes);
  const digest = digestOf(bytes);
  const other = blob("other bytes").digest;

  expect(await outcome(store.putBlob("app", { digest, size: SIZE + 1 }, Bun.file(file)))).toBe(
    `SIZE_INVALID: content size does not match: expected ${SIZE + 1} bytes, got ${SIZE}`,
  );
  expect(await outcome(store.putBlob("app", { digest: other, size: SIZE }, Bun.file(file)))).toBe(
    `DIGEST_INVALID: content does not match digest ${other} (it hashes to ${digest})`,
  );
  // The Blob was taken at its full size; the file is cut before the store reads it.
  const body = Bun.file(file);
  expect(body.size).toBe(SIZE);
  await truncate(file, 1000);
  expect(await outcome(store.putBlob("app", { digest, size: SIZE }, body))).toBe(
    `SIZE_INVALID: content size does not match: expected ${SIZE} bytes, got 1000`,
  );
  expect(await store.statBlob("app", digest)).toBeUndefined();
  expect(await store.statBlob("app", other)).toBeUndefined();
  expect(await readdir(join(dir.path, "store", "uploads"))).toEqual([]);
  expect(await readdir(join(dir.path, "store", "blobs"))).toEqual([]);
  // The same bytes as a stream still go in afterwards.
  await store.putBlob("app", { digest, size: SIZE }, streamOf(bytes));
  expect(await store.statBlob("app", digest)).toBe(SIZE);
});

test("sendBlob stops when its signal is aborted: the reason is the error, nothing stored, nothing left", async () => {
  await using dir = await tempDir();
  await using store = await openStore(join(dir.path, "store"));
  const bytes = new Uint8Array(randomBytes(9 * 1024 * 1024));
  const file = join(dir.path, "layer");
  await writeFile(file, bytes);
  const digest = digestOf(bytes);
  const stop = new AbortController();
  const reported: number[] = [];
  const sending = store.sendBlob("app", { digest, size: bytes.byteLength }, Bun.file(file), (n) => {
    reported.push(n);
    stop.abort(new Error("received SIGINT"));
  }, stop.signal);
  await expect(sending).rejects.toThrow("received SIGINT");
  expect(reported.reduce((a, b) => a + b, 0)).toBeLessThan(bytes.byteLength);
  expect(await store.statBlob("app", digest)).toBeUndefined();
  expect(await readdir(join(dir.path, "store", "uploads"))).toEqual([]);
  expect(await readdir(join(dir.path, "store", "blobs"))).toEqual([]);
});
