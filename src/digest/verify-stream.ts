/**
 * A TransformStream that passes bytes through while hashing them, and fails
 * the stream when the content does not match: early when more bytes arrive
 * than the declared size, at the end when the size or digest differ. Put it
 * on every trust boundary; nothing downstream may commit before the stream
 * closed cleanly.
 */
import { type Digest, DigestError } from "./digest.ts";
import { DigestHasher } from "./hasher.ts";

export class ContentMismatchError extends DigestError {
  constructor(
    readonly kind: "digest" | "size",
    readonly expected: string,
    readonly actual: string,
  ) {
    super(
      kind === "digest" ? "digest mismatch" : "size mismatch",
      expected,
      kind === "digest" ? `content hashes to ${actual}` : `expected ${expected} bytes, got ${actual}`,
    );
  }
  override describe(): string {
    return this.kind === "digest"
      ? `content does not match digest ${this.expected} (it hashes to ${this.actual})`
      : `content size does not match: expected ${this.expected} bytes, got ${this.actual}`;
  }
}

export interface VerifyOptions {
  digest: Digest;
  /** Declared size in bytes; omit when unknown. */
  size?: number;
}

/**
 * Throws DigestError at once when the digest's algorithm cannot be hashed
 * (before any byte moves), and RangeError for a size that is not a byte count.
 */
export function verifyStream({ digest, size }: VerifyOptions): TransformStream<Uint8Array, Uint8Array> {
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) {
    throw new RangeError(`Invalid size ${size}: expected a non-negative integer`);
  }
  const hasher = DigestHasher.for(digest);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      // Checked before hashing or passing on: not one byte past the size goes downstream.
      if (size !== undefined && hasher.size + chunk.byteLength > size) {
        controller.error(new ContentMismatchError("size", String(size), `more than ${size}`));
        return;
      }
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (size !== undefined && hasher.size !== size) {
        controller.error(new ContentMismatchError("size", String(size), String(hasher.size)));
        return;
      }
      const actual = hasher.digest();
      if (actual !== digest) controller.error(new ContentMismatchError("digest", digest, actual));
    },
  });
}
