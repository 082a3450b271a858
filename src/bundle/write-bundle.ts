/**
 * Putting a finished bundle in place.
 *
 * As a tar, written in one sequential pass to a temporary file beside the
 * output, flushed and renamed over it (transports' TarWriter), in this
 * order, so a reader streaming it learns what it holds before the blobs:
 *
 *   oci-layout, index.json, manifest.json (when any image is docker-loadable),
 *   blobs/, blobs/<alg>/, blobs/<alg>/<encoded> (sorted by path)
 *
 * with fixed mtime (0), owner (0:0, no names) and modes (0644, 0755):
 * the same content gives the same bytes.
 *
 * As a directory, the content is already there (the copy wrote it): the
 * three documents are committed atomically, index.json last under the
 * layout's lock, and blobs no image needs any more are removed.
 */
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../digest/index.ts";
import { TarWriter } from "../transports/index.ts";
import { commitBytes } from "../transports/fs/durable-file.ts";
import { withLockFile } from "../transports/fs/lock-file.ts";
import { digestOfBlobName, openBundleFiles } from "./bundle-files.ts";
import { blobPath, compare, OCI_LAYOUT_BYTES } from "./layout-documents.ts";

export interface BundleParts {
  index: Uint8Array;
  manifestJson?: Uint8Array;
  /** Every blob the bundle holds (manifests included), each once. */
  blobs: { digest: Digest; file: Blob }[];
}

export async function writeBundleArchive(path: string, parts: BundleParts): Promise<void> {
  const blobs = parts.blobs.map((b) => ({ path: blobPath(b.digest), file: b.file })).sort((a, b) => compare(a.path, b.path));
  const writer = await TarWriter.create(path);
  try {
    await writer.file("oci-layout", OCI_LAYOUT_BYTES.byteLength, OCI_LAYOUT_BYTES);
    await writer.file("index.json", parts.index.byteLength, parts.index);
    if (parts.manifestJson) await writer.file("manifest.json", parts.manifestJson.byteLength, parts.manifestJson);
    await writer.directory("blobs");
    let directory = "";
    for (const blob of blobs) {
      const dir = blob.path.slice(0, blob.path.lastIndexOf("/"));
      if (dir !== directory) await writer.directory((directory = dir));
      await writer.file(blob.path, blob.file.size, blob.file);
    }
    await writer.finish();
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/** Returns the number of blob files removed. */
export async function finishBundleDirectory(directory: string, parts: BundleParts): Promise<number> {
  const current = Bun.file(join(directory, "oci-layout"));
  if (!(await current.exists()) || !equalBytes(await current.bytes(), OCI_LAYOUT_BYTES)) {
    await commitBytes(join(directory, "oci-layout"), OCI_LAYOUT_BYTES);
  }
  if (parts.manifestJson) await commitBytes(join(directory, "manifest.json"), parts.manifestJson);
  else await unlink(join(directory, "manifest.json")).catch(() => {});
  await withLockFile(join(directory, "index.json.lock"), () => commitBytes(join(directory, "index.json"), parts.index));
  const keep = new Set<string>(parts.blobs.map((b) => b.digest));
  let removed = 0;
  for (const { name } of await (await openBundleFiles(directory)).blobFiles()) {
    const digest = digestOfBlobName(name);
    if (digest && !keep.has(digest)) {
      await unlink(join(directory, name)).catch(() => {});
      removed++;
    }
  }
  return removed;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((v, i) => v === b[i]);
}
