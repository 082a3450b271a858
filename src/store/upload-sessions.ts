/**
 * Resumable blob uploads, the way the distribution protocol drives them:
 * open a session, append chunks at known offsets, finish with a digest.
 * A capability beside the image interface: the registry offers chunked
 * uploads only over a home that has it.
 */
import type { Digest } from "../digest/index.ts";

export interface UploadStatus {
  id: string;
  /** Bytes received so far; the next chunk starts here. */
  offset: number;
}

/** What a PATCH or PUT says about its chunk (Content-Range, Content-Length). */
export interface ChunkBounds {
  /** Where the chunk claims to start; must equal the session's offset. */
  start?: number;
  /** How many bytes the chunk claims to have; the body must have exactly that many. */
  length?: number;
}

export interface UploadSessions {
  /** Suggested smallest PATCH chunk (OCI-Chunk-Min-Length); 0 for none. */
  readonly chunkMinLength: number;
  startUpload(repository: string): Promise<UploadStatus>;
  /** Throws OciError BLOB_UPLOAD_UNKNOWN. */
  uploadStatus(repository: string, id: string): Promise<UploadStatus>;
  /**
   * Append one chunk, all or nothing. Throws RANGE_INVALID (416) when it
   * does not start at the current offset, SIZE_INVALID when the body is
   * not as long as announced.
   */
  appendUpload(repository: string, id: string, body: ReadableStream<Uint8Array>, bounds?: ChunkBounds): Promise<UploadStatus>;
  /**
   * Append an optional last chunk, check the digest and commit the blob.
   * Throws DIGEST_INVALID (and drops the session) when the bytes do not match.
   */
  finishUpload(
    repository: string,
    id: string,
    digest: Digest,
    body?: ReadableStream<Uint8Array>,
    bounds?: ChunkBounds,
  ): Promise<void>;
  cancelUpload(repository: string, id: string): Promise<void>;
}

export const canUpload = (home: object): home is UploadSessions =>
  typeof (home as Partial<UploadSessions>).startUpload === "function";
