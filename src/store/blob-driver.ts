/**
 * The narrow interface between the store and where blob bytes live. The
 * filesystem driver is the default; an object-store driver implements the
 * same calls, so the store above never knows which one it has.
 *
 * Writes go through staging: bytes are appended to a staged upload (one per
 * upload session, or a private one for a single-request write), and
 * `commitStaged` makes them the blob of a verified digest in one atomic step.
 * Verification happens above, while the bytes stream; the driver only moves
 * bytes and promises durability: after `writeStaged` or `commitStaged`
 * resolves, the bytes survive a crash.
 */
import type { Digest } from "../digest/index.ts";
import type { BlobContent } from "../oci/index.ts";

export interface StoredObject {
  size: number;
  /** Last modification, ms since the epoch (gc grace windows, upload expiry). */
  modified: number;
}

export interface BlobDriver {
  /** How to name this driver in messages, e.g. the root directory. */
  readonly description: string;
  /**
   * The smallest PATCH chunk worth sending, advertised to clients as
   * OCI-Chunk-Min-Length; 0 when there is none.
   */
  readonly chunkMinLength: number;

  stat(digest: Digest): Promise<StoredObject | undefined>;
  /** A readable view of a committed blob of known size (range reads, zero-copy when possible). */
  open(digest: Digest, size: number): BlobContent;
  /**
   * Mark a committed blob as wanted just now, so gc's grace window (which
   * looks at the modification time of bytes no row names) spares it.
   */
  touch(digest: Digest): Promise<void>;
  /** Remove a committed blob; no error when it is already gone. */
  delete(digest: Digest): Promise<void>;
  /** Every committed blob, in no particular order (gc and fsck). */
  list(): AsyncIterable<StoredObject & { digest: Digest }>;

  /** Create an empty staged upload. */
  createStaged(id: string): Promise<void>;
  /** Bytes in a staged upload, or undefined when there is none. */
  stagedSize(id: string): Promise<number | undefined>;
  /**
   * Write `body` at `offset`, dropping anything past it first. All or
   * nothing: when the body fails, the staged bytes are cut back to
   * `offset` and the error is rethrown. Resolves with the bytes written,
   * once they are durable.
   */
  writeStaged(id: string, offset: number, body: ReadableStream<Uint8Array>): Promise<number>;
  /** The first `length` staged bytes (all when omitted). */
  readStaged(id: string, length?: number): ReadableStream<Uint8Array>;
  /**
   * Make the first `length` staged bytes the blob `digest`, atomically.
   * When the blob exists already (a parallel push of the same content),
   * the staged copy is not needed. Either way the blob counts as just
   * written (see `touch`). A driver may keep the staged upload until the
   * store drops it with `deleteStaged` (after the metadata commit), so
   * that a crash in between leaves the upload session whole; it then
   * refuses further writes to it.
   */
  commitStaged(id: string, digest: Digest, length: number): Promise<void>;
  /** Remove a staged upload; no error when it is already gone. */
  deleteStaged(id: string): Promise<void>;
  listStaged(): AsyncIterable<StoredObject & { id: string }>;
}
