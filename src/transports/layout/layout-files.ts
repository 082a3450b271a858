/**
 * Where the files of an OCI image layout live: a directory, or entries of a
 * tar. The layout reader needs only these two operations, so one reader
 * serves both.
 */
import { type Digest, algorithmOf, encodedOf } from "../../digest/index.ts";

export interface LayoutFiles {
  /**
   * A file's bytes as a Blob (a file, or a slice of the tar: Bun sends
   * either without copying through JavaScript), or undefined if absent.
   */
  file(path: string): Promise<Blob | undefined>;
}

/** `blobs/<algorithm>/<encoded>`: the digest grammar keeps this inside the layout. */
export function blobPath(digest: Digest): string {
  return `blobs/${algorithmOf(digest)}/${encodedOf(digest)}`;
}

/** Read a small file whole, refusing one larger than `max` bytes. */
export async function readSmall(files: LayoutFiles, path: string, max: number): Promise<Uint8Array | undefined> {
  const blob = await files.file(path);
  if (!blob) return undefined;
  if (blob.size > max) throw new RangeError(`${path} is ${blob.size} bytes; at most ${max} expected`);
  return new Uint8Array(await blob.arrayBuffer());
}
