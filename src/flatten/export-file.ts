/**
 * Flatten into a file, atomically: a temporary file beside the target,
 * fsync, rename, fsync of the directory. On any failure the temporary
 * file is removed and the target is left as it was.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { ImageReader } from "../oci/index.ts";
import { type FlattenOptions, type FlattenResult, flattenImage } from "./flatten-image.ts";

export async function flattenToFile(
  reader: ImageReader,
  repository: string,
  reference: string,
  path: string,
  options: FlattenOptions = {},
): Promise<FlattenResult> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const file = await open(temp, "wx", 0o644);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await file.close();
  };
  const output = new WritableStream<Uint8Array>({
    async write(chunk) {
      let at = 0;
      while (at < chunk.byteLength) at += (await file.write(chunk, at, chunk.byteLength - at)).bytesWritten;
    },
    async close() {
      await file.sync();
      await close();
    },
    async abort() {
      await close();
    },
  });
  try {
    const result = await flattenImage(reader, repository, reference, output, options);
    await close();
    await rename(temp, path);
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    return result;
  } catch (error) {
    await close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
