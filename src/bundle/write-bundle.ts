/**
 * Finishing a bundle that is a directory: the content is already there
 * (the copy wrote it), so the three documents are committed atomically,
 * index.json last under the layout's lock, and blobs no image needs any
 * more are removed. (A tar is written in place by bundle-archive.ts.)
 */
import { unlink } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../digest/index.ts";
import { commitBytes } from "../transports/fs/durable-file.ts";
import { withLockFile } from "../transports/fs/lock-file.ts";
import { digestOfBlobName, openBundleFiles } from "./bundle-files.ts";
import { OCI_LAYOUT_BYTES } from "./layout-documents.ts";

export interface BundleParts {
  index: Uint8Array;
  manifestJson?: Uint8Array;
  /** Every blob the bundle holds (manifests included), each once. */
  blobs: { digest: Digest; file: Blob }[];
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
