/**
 * Blob URLs a client can fetch directly, bypassing the registry process:
 * a presigned URL of the object store. The registry answers a blob GET with
 * a redirect to it when asked to (`serve --blob-redirect`).
 */
import type { Digest } from "../digest/index.ts";

export interface BlobUrls {
  /**
   * A URL serving the blob (and its ranges) for `expiresIn` seconds, or
   * undefined when blobs live where clients cannot fetch them. Throws
   * OciError BLOB_UNKNOWN when the repository has no such blob.
   */
  blobUrl(repository: string, digest: Digest, expiresIn?: number): Promise<string | undefined>;
}

export const canLinkBlobs = (home: object): home is BlobUrls => typeof (home as Partial<BlobUrls>).blobUrl === "function";
