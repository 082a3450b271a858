import { describe, expect, test } from "bun:test";
import {
  ContentMismatchError,
  type Digest,
  DigestError,
  digestOf,
  parseDigest,
  verifyStream,
} from "../../../src/digest/index.ts";

const MiB = 1024 * 1024;

/** A stream of `count` chunks of `size` bytes (byte i of chunk k is k+i), made on demand. */
function source(count: number, size: number) {
  const cancelled = Promise.withResolvers<unknown>();
  const state = { pulled: 0, cancelled: cancelled.promise };
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (state.pulled === count) return controller.close();
        const chunk = new Uint8Array(size);
        for (let i = 0; i < size; i++) chunk[i] = (state.pulled + i) & 0xff;
        state.pulled++;
        controller.enqueue(chunk);
      },
      cancel(reason) {
        cancelled.resolve(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, state };
}

function digestOfChunks(count: number, size: number): Digest {
  const all = new Uint8Array(count * size);
  for (let k = 0; k < count; k++) for (let i = 0; i < size; i++) all[k * size + i] = (k + i) & 0xff;
  return digestOf(all);
}

/** Read everything; returns the bytes that came through and the error, if any. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; error?: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of stream) bytes += chunk.byteLength;
    return { bytes };
  } catch (error) {
    return { bytes, error };
  }
}

describe("verifyStream", () => {
  test("matching content passes through unchanged", async () => {
    const digest = digestOfChunks(4, 1000);
    const { stream } = source(4, 1000);
    const chunks: Uint8Array[] = [];
    for await (const chunk of stream.pipeThrough(verifyStream({ digest, size: 4000 }))) chunks.push(chunk);
    expect(digestOf(Buffer.concat(chunks))).toBe(digest);
    // Without a size only the digest is checked.
    expect(await drain(source(4, 1000).stream.pipeThrough(verifyStream({ digest })))).toEqual({ bytes: 4000 });
  });

  test("empty content", async () => {
    const digest = digestOf(new Uint8Array());
    expect(await drain(new Blob([]).stream().pipeThrough(verifyStream({ digest, size: 0 })))).toEqual({ bytes: 0 });
  });

  test("a digest mismatch fails at the end, after all bytes passed", async () => {
    const wrong = digestOf("something else");
    const { bytes, error } = await drain(source(4, 1000).stream.pipeThrough(verifyStream({ digest: wrong, size: 4000 })));
    expect(bytes).toBe(4000);
    expect(error).toBeInstanceOf(ContentMismatchError);
    expect(error).toBeInstanceOf(DigestError);
    const e = error as ContentMismatchError;
    expect([e.kind, e.expected, e.actual]).toEqual(["digest", wrong, digestOfChunks(4, 1000)]);
    expect(e.describe()).toBe(`content does not match digest ${wrong} (it hashes to ${digestOfChunks(4, 1000)})`);
  });

  test("more bytes than the size fail early: the source is cancelled, nothing past the size goes on", async () => {
    const { stream, state } = source(1000, MiB); // 1000 MiB if read to the end
    const { bytes, error } = await drain(stream.pipeThrough(verifyStream({ digest: digestOf("x"), size: 2.5 * MiB })));
    expect(error).toBeInstanceOf(ContentMismatchError);
    expect((error as ContentMismatchError).kind).toBe("size");
    expect((error as ContentMismatchError).describe()).toBe(
      `content size does not match: expected ${2.5 * MiB} bytes, got more than ${2.5 * MiB}`,
    );
    expect(bytes).toBeLessThanOrEqual(2.5 * MiB);
    expect(state.pulled).toBeLessThan(10);
    // The pipe cancels its source with the same error (a moment after the reader sees it).
    expect(await state.cancelled).toBe(error);
  }, 5000);

  test("one byte over fails, even when the extra byte would make the digest right", async () => {
    const content = new TextEncoder().encode("hello!");
    const digest = digestOf(content);
    const { error } = await drain(new Blob([content]).stream().pipeThrough(verifyStream({ digest, size: 5 })));
    expect((error as ContentMismatchError).kind).toBe("size");
  });

  test("fewer bytes than the size fail at the end", async () => {
    const digest = digestOf("hello");
    const { bytes, error } = await drain(new Blob(["hello"]).stream().pipeThrough(verifyStream({ digest, size: 6 })));
    expect(bytes).toBe(5);
    const e = error as ContentMismatchError;
    expect([e.kind, e.expected, e.actual]).toEqual(["size", "6", "5"]);
    expect(e.describe()).toBe("content size does not match: expected 6 bytes, got 5");
  });

  test("every registered algorithm", async () => {
    for (const algorithm of ["sha256", "sha384", "sha512"] as const) {
      const digest = digestOf("hello", algorithm);
      expect(await drain(new Blob(["hello"]).stream().pipeThrough(verifyStream({ digest, size: 5 })))).toEqual({ bytes: 5 });
    }
  });

  test("refuses up front what it cannot verify", () => {
    expect(() => verifyStream({ digest: parseDigest(`blake3:${"a".repeat(64)}`) })).toThrow("unsupported digest algorithm");
    for (const size of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => verifyStream({ digest: digestOf(""), size })).toThrow(RangeError);
    }
  });
});
