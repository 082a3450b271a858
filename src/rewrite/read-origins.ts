/**
 * Read origins from what a site was filled with: an image list (one
 * reference per line, `#` comments), an OCI layout directory, or a bundle
 * (a tar of an OCI layout). Layouts and bundles name their images in
 * index.json annotations; only full references (with a repository, not a
 * bare tag) say where an image came from.
 */
import { open, readFile, stat } from "node:fs/promises";
import { systemErrorReason } from "../oci/index.ts";
import { OciArchiveReader, OciLayoutHome, TransportError } from "../transports/index.ts";
import type { LayoutReader } from "../transports/layout/layout-reader.ts";
import { RewriteError } from "./errors.ts";
import { Origins } from "./origins.ts";

/** Parse an image list: one reference per line; blank lines and `#` comments ignored. */
export function parseImageList(text: string, description: string, into = new Origins(description)): Origins {
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line) into.add(line, `${description}:${i + 1}`);
  });
  return into;
}

/** Origins from the entries of a layout or bundle: each entry named by a full reference is one. */
async function layoutOrigins(layout: LayoutReader, description: string): Promise<Origins> {
  const origins = new Origins(description);
  (await layout.entries()).forEach(({ name }, i) => {
    // A bare tag (`1.25`, `latest`) names no repository, so no origin.
    if (!name || name.bare) return;
    origins.add(name.tag ? `${name.repository}:${name.tag}` : name.repository, `${description}: index.json manifests[${i}]`);
  });
  if (origins.size === 0) {
    throw new RewriteError(`${description}: index.json names no image by its full reference, so it cannot tell where images came from`);
  }
  return origins;
}

/** Read origins from an image list file, a layout directory, or a bundle tar. */
export async function readOrigins(path: string): Promise<Origins> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new RewriteError(`Cannot read image list ${JSON.stringify(path)}: ${systemErrorReason(error)}`);
  }
  try {
    if (info.isDirectory()) return await layoutOrigins(await OciLayoutHome.open(path), path);
    if (await isTar(path)) return await layoutOrigins(await OciArchiveReader.open(path), path);
  } catch (error) {
    if (error instanceof TransportError) throw new RewriteError(error.message);
    throw error;
  }
  return parseImageList(await readFile(path, "utf8"), path);
}

/** A tar starts with a header block whose magic is `ustar` at byte 257. */
async function isTar(path: string): Promise<boolean> {
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(512);
    const { bytesRead } = await file.read(header, 0, 512, 0);
    return bytesRead === 512 && header.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await file.close();
  }
}
