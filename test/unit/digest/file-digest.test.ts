import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ContentMismatchError,
  type Digest,
  DigestError,
  digestFileOffThread,
  digestOf,
  verifyFile,
} from "../../../src/digest/index.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stevedore-file-digest-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A file of `size` bytes (byte i is i * 7 mod 256): larger than the worker's 4 MiB piece when asked. */
async function fileOf(name: string, size: number): Promise<{ path: string; bytes: Uint8Array }> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7) & 0xff;
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes };
}

const mismatch = (error: unknown) => {
  expect(error).toBeInstanceOf(ContentMismatchError);
  const { kind, expected, actual } = error as ContentMismatchError;
  return { kind, expected, actual };
};

describe("digestFileOffThread", () => {
  test("the digest and size of files small, empty and spanning several pieces, sha256 and sha512", async () => {
    for (const size of [0, 1, 4 * 1024 * 1024, 9 * 1024 * 1024 + 3]) {
      const { path, bytes } = await fileOf(`f-${size}`, size);
      expect(await digestFileOffThread(path)).toEqual({ digest: digestOf(bytes), size });
      expect(await digestFileOffThread(path, { algorithm: "sha512" })).toEqual({ digest: digestOf(bytes, "sha512"), size });
    }
  });

  test("a range of a file", async () => {
    const { path, bytes } = await fileOf("ranged", 5 * 1024 * 1024);
    expect(await digestFileOffThread(path, { range: { start: 1000, length: 4 * 1024 * 1024 + 5 } })).toEqual({
      digest: digestOf(bytes.subarray(1000, 1000 + 4 * 1024 * 1024 + 5)),
      size: 4 * 1024 * 1024 + 5,
    });
    // A range past the end hashes what there is.
    expect(await digestFileOffThread(path, { range: { start: bytes.byteLength - 10, length: 100 } })).toEqual({
      digest: digestOf(bytes.subarray(bytes.byteLength - 10)),
      size: 10,
    });
  });

  test("many files at once, more than there are workers: each answer is its own", async () => {
    const files = await Promise.all(Array.from({ length: 24 }, (_, i) => fileOf(`many-${i}`, 1000 + i * 997)));
    const digests = await Promise.all(files.map((f) => digestFileOffThread(f.path)));
    expect(digests).toEqual(files.map((f) => ({ digest: digestOf(f.bytes), size: f.bytes.byteLength })));
  });

  test("a missing file fails with its error code, and the workers go on", async () => {
    const error = await digestFileOffThread(join(dir, "nope")).catch((e) => e);
    expect((error as NodeJS.ErrnoException).code).toBe("ENOENT");
    const { path, bytes } = await fileOf("after", 10);
    expect((await digestFileOffThread(path)).digest).toBe(digestOf(bytes));
  });
});

describe("verifyFile", () => {
  test("a match passes; a wrong digest, and a wrong size (before hashing), are ContentMismatchError", async () => {
    const { path, bytes } = await fileOf("v", 100_000);
    await verifyFile(path, { digest: digestOf(bytes), size: bytes.byteLength });
    await verifyFile(path, { digest: digestOf(bytes) });
    const other = digestOf("other");
    expect(mismatch(await verifyFile(path, { digest: other }).catch((e) => e))).toEqual({ kind: "digest", expected: other, actual: digestOf(bytes) });
    expect(mismatch(await verifyFile(path, { digest: digestOf(bytes), size: 99_999 }).catch((e) => e))).toEqual({
      kind: "size",
      expected: "99999",
      actual: "100000",
    });
  });

  test("the bytes at an offset of a larger file; a range that runs past the end is short", async () => {
    const { path, bytes } = await fileOf("tar-like", 300_000);
    const part = bytes.subarray(512, 512 + 200_000);
    await verifyFile(path, { digest: digestOf(part), size: part.byteLength }, { start: 512 });
    expect(mismatch(await verifyFile(path, { digest: digestOf(part), size: 200_000 }, { start: 200_000 }).catch((e) => e))).toEqual({
      kind: "size",
      expected: "200000",
      actual: "100000",
    });
    await expect(verifyFile(path, { digest: digestOf(part) }, { start: 512 })).rejects.toThrow(RangeError);
  });

  test("an algorithm that cannot be hashed is a DigestError before any work", async () => {
    const { path } = await fileOf("alg", 10);
    const error = await verifyFile(path, { digest: `md5:${"0".repeat(32)}` as Digest }).catch((e) => e);
    expect(error).toBeInstanceOf(DigestError);
    expect(error).not.toBeInstanceOf(ContentMismatchError);
  });
});
