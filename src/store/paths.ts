/**
 * Every path of the embedded store, produced in one place.
 *
 *   <root>/
 *     metadata.db                 SQLite metadata (plus -wal and -shm beside it)
 *     metadata.db.creating-<pid>-<random>  a new database being built (sqlite-file.ts)
 *     blobs/<algorithm>/<ab>/<hex>  content, named by digest; immutable once renamed in
 *     uploads/<id>                upload sessions and in-flight writes; renamed into
 *                                 blobs/ when their digest is verified
 *
 * Blobs are sharded by the first two hex characters so no directory grows
 * past a few thousand entries. Upload ids are checked against a strict
 * pattern before they become a path, so a request can never name a file
 * outside uploads/.
 */
import { join } from "node:path";
import { algorithmOf, type Digest, encodedOf } from "../digest/index.ts";

/** Upload ids are random UUIDs; anything else is refused before touching the disk. */
export const UPLOAD_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const isUploadId = (id: string): boolean => UPLOAD_ID_PATTERN.test(id);

export function databasePath(root: string): string {
  return join(root, "metadata.db");
}

export function blobsDir(root: string): string {
  return join(root, "blobs");
}

export function blobDir(root: string, digest: Digest): string {
  return join(root, "blobs", algorithmOf(digest), encodedOf(digest).slice(0, 2));
}

export function blobPath(root: string, digest: Digest): string {
  return join(blobDir(root, digest), encodedOf(digest));
}

export function uploadsDir(root: string): string {
  return join(root, "uploads");
}

export function uploadPath(root: string, id: string): string {
  if (!isUploadId(id)) throw new Error(`invalid upload id ${JSON.stringify(id)}`);
  return join(root, "uploads", id);
}
