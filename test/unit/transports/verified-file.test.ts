/**
 * Bodies written to files without passing through JavaScript, then
 * verified: commitVerified puts a body at its path only when it is the
 * content named, and leaves nothing beside it otherwise; openAt gives
 * Bun.write a descriptor positioned inside a larger file.
 */
import { describe, expect, test } from "bun:test";
import { closeSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ContentMismatchError, digestOf } from "../../../src/digest/index.ts";
import { commitVerified } from "../../../src/transports/fs/durable-file.ts";
import { openAt, positionOf } from "../../../src/transports/fs/positioned-file.ts";
import { tempDir } from "../store/fixtures.ts";

const bytesOf = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 13) & 0xff);

/** A stream in `pieces` chunks, made in JavaScript. */
function streamOf(bytes: Uint8Array, pieces = 4): ReadableStream<Uint8Array> {
  const step = Math.ceil(bytes.byteLength / pieces);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.slice(at, (at += step)));
    },
  });
}

describe("commitVerified", () => {
  test("a stream, a file and a slice of a file land whole at their path; progress adds up to the size", async () => {
    await using dir = await tempDir();
    const bytes = bytesOf(300_000);
    const digest = digestOf(bytes);
    let counted = 0;
    const size = await commitVerified(join(dir.path, "from-stream"), streamOf(bytes), { digest, size: bytes.byteLength }, { onProgress: (n) => (counted += n) });
    expect({ size, counted }).toEqual({ size: 300_000, counted: 300_000 });
    await writeFile(join(dir.path, "source"), bytes);
    await commitVerified(join(dir.path, "from-file"), Bun.file(join(dir.path, "source")), { digest });
    const padded = new Uint8Array(300_100);
    padded.set(bytes, 100);
    await writeFile(join(dir.path, "padded"), padded);
    await commitVerified(join(dir.path, "from-slice"), Bun.file(join(dir.path, "padded")).slice(100, 300_100), { digest, size: bytes.byteLength });
    for (const name of ["from-stream", "from-file", "from-slice"]) expect(new Uint8Array(await readFile(join(dir.path, name)))).toEqual(bytes);
    expect((await readdir(dir.path)).sort()).toEqual(["from-file", "from-slice", "from-stream", "padded", "source"]);
  });

  test("a wrong digest or size: ContentMismatchError, nothing at the path, nothing beside it", async () => {
    await using dir = await tempDir();
    const bytes = bytesOf(50_000);
    const target = join(dir.path, "blob");
    const wrong = await commitVerified(target, streamOf(bytes), { digest: digestOf("other") }, { tempDirectory: dir.path }).catch((e) => e);
    expect(wrong).toBeInstanceOf(ContentMismatchError);
    expect(wrong.kind).toBe("digest");
    const long = await commitVerified(target, streamOf(bytes), { digest: digestOf(bytes), size: 49_999 }).catch((e) => e);
    expect({ kind: long.kind, actual: long.actual }).toEqual({ kind: "size", actual: "50000" });
    // A file body of the wrong size is refused before it is copied.
    await writeFile(join(dir.path, "source"), bytes);
    const short = await commitVerified(target, Bun.file(join(dir.path, "source")).slice(1, 50_000), { digest: digestOf(bytes), size: 50_000 }).catch((e) => e);
    expect({ kind: short.kind, actual: short.actual }).toEqual({ kind: "size", actual: "49999" });
    expect(await readdir(dir.path)).toEqual(["source"]);
  });

  test("a body that fails, and an abort, leave nothing", async () => {
    await using dir = await tempDir();
    const bytes = bytesOf(10_000);
    let sent = false;
    const failing = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new Error("connection reset"));
        sent = true;
        controller.enqueue(bytes);
      },
    });
    await expect(commitVerified(join(dir.path, "a"), failing, { digest: digestOf(bytes) })).rejects.toThrow("connection reset");
    const stop = new AbortController();
    stop.abort(new Error("stopped"));
    await expect(commitVerified(join(dir.path, "b"), streamOf(bytes), { digest: digestOf(bytes) }, { signal: stop.signal })).rejects.toThrow("stopped");
    expect(await readdir(dir.path)).toEqual([]);
  });
});

describe("openAt", () => {
  test("Bun.write through it lands at the offset, leaving the rest of the file as it was; positionOf follows", async () => {
    await using dir = await tempDir();
    const path = join(dir.path, "archive");
    await writeFile(path, new Uint8Array(100).fill(0x2e));
    const fd = await openAt(path, 40);
    expect(fd).toBeNumber();
    try {
      expect(await Bun.write(Bun.file(fd!), new Response(streamOf(new TextEncoder().encode("in place"))))).toBe(8);
      expect(positionOf(fd!)).toBe(48);
    } finally {
      closeSync(fd!);
    }
    const text = await Bun.file(path).text();
    expect(text).toBe(`${".".repeat(40)}in place${".".repeat(52)}`);
  });
});
