/**
 * What some blob drivers can do beyond the BlobDriver interface, found at
 * run time with the guards below.
 */
import type { Digest } from "../digest/index.ts";

/** Writing a blob straight to where it will live, without a staged copy. */
export interface DirectBlobWriter {
  /**
   * Write `body` as blob `digest`. The blob becomes visible only once the
   * body ended without an error, so a verifying stream that fails at its
   * end (digest or size mismatch) leaves nothing behind. Resolves with the
   * number of bytes written.
   */
  writeBlob(digest: Digest, body: ReadableStream<Uint8Array>): Promise<number>;
}

/** Staging a file body (a Blob) through a buffer of the driver's own, without a stream. */
export interface FileStager {
  /**
   * Create staged upload `id` holding the bytes of `body`, handing each
   * piece to `onPiece` on its way (the store hashes them; when it throws,
   * staging stops with its error). The bytes are durable once it resolves;
   * the staged name need not be (a private staging, committed at once).
   * Resolves with the bytes staged: fewer than `body.size` when a file
   * shrank meanwhile.
   */
  stageFile(id: string, body: Blob, onPiece: (piece: Uint8Array) => void): Promise<number>;
}

/** Blob URLs a client can fetch from directly (object stores: presigned URLs). */
export interface BlobPresigner {
  /** A URL that answers GET (and range GETs) for the blob for `expiresIn` seconds. */
  presignBlob(digest: Digest, expiresIn: number): string;
}

/** Leftovers only the driver knows about (incomplete multipart uploads). */
export interface DriverSweeper {
  /** Remove driver-private leftovers last touched before `before`; returns how many. */
  sweep(before: number): Promise<number>;
}

export const canWriteDirect = (driver: object): driver is DirectBlobWriter =>
  typeof (driver as Partial<DirectBlobWriter>).writeBlob === "function";
export const canStageFiles = (driver: object): driver is FileStager => typeof (driver as Partial<FileStager>).stageFile === "function";
export const canPresign = (driver: object): driver is BlobPresigner =>
  typeof (driver as Partial<BlobPresigner>).presignBlob === "function";
export const canSweep = (driver: object): driver is DriverSweeper => typeof (driver as Partial<DriverSweeper>).sweep === "function";
