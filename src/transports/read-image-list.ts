/**
 * The images a file names, whatever it is: an image list (text or YAML,
 * see image-list.ts), or a bundle: an OCI layout directory or a tar of one,
 * whose index.json names its images. `gc --keep` and
 * `rewrite --reverse --images` read both kinds.
 *
 * A bundle entry counts only when it is named by a full reference
 * (containerd's annotation, preferred, or ref.name): a bare tag (`1.25`)
 * names no repository. Its image is pinned to the entry's manifest.
 */
import { open, readFile, stat } from "node:fs/promises";
import { Annotation, type Descriptor, systemErrorCode, systemErrorReason } from "../oci/index.ts";
import { parseNormalizedReference, type Reference, ReferenceError } from "../reference/index.ts";
import { ImageListError, quote, TransportError } from "./errors.ts";
import { type ListedImage, parseImageList } from "./image-list.ts";
import type { LayoutReader } from "./layout/layout-reader.ts";
import { OciLayoutHome } from "./layout/oci-layout-home.ts";
import { OciArchiveReader } from "./oci-archive/oci-archive-reader.ts";

export interface ImageListing {
  /** True when the file was a bundle, not a list. */
  bundle: boolean;
  images: ListedImage[];
  /** Bundle entries with a name that is no full reference (a bare tag): nothing says which repository they are. */
  unnamed: { origin: string; refName: string }[];
}

/**
 * Read an image list or a bundle. `what` names the file in the message
 * when it cannot be read (`image list`, `keep list`); malformed content is
 * an ImageListError naming file and line, a broken bundle a TransportError.
 */
export async function readImageList(path: string, what = "image list"): Promise<ImageListing> {
  const unreadable = (error: unknown) =>
    new TransportError(systemErrorCode(error) === "ENOENT" ? "not-found" : "invalid-content", `Cannot read ${what} ${quote(path)}: ${systemErrorReason(error)}`);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw unreadable(error);
  }
  if (info.isDirectory()) return bundleImages(await OciLayoutHome.open(path), path);
  if (await isTar(path)) return bundleImages(await OciArchiveReader.open(path), path);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw unreadable(error);
  }
  return { bundle: false, images: parseImageList(text, path), unnamed: [] };
}

async function bundleImages(layout: LayoutReader, path: string): Promise<ImageListing> {
  const out: ImageListing = { bundle: true, images: [], unnamed: [] };
  (await layout.entries()).forEach(({ descriptor }, i) => {
    const origin = `${path}: index.json manifests[${i}]`;
    const written = fullName(descriptor);
    if (written === undefined) {
      // Referrers (signatures, SBOMs) have no name of their own: they go with their subject.
      const refName = descriptor.annotations?.[Annotation.refName] ?? descriptor.annotations?.[Annotation.containerdImageName];
      if (refName !== undefined) out.unnamed.push({ origin, refName });
      return;
    }
    let name: Reference;
    try {
      name = parseNormalizedReference(written);
    } catch (error) {
      if (error instanceof ReferenceError) throw new ImageListError(origin, error.describe());
      throw error;
    }
    out.images.push({ name: name.withDigest(descriptor.digest), written, origin });
  });
  return out;
}

/** An entry's full name: containerd's annotation, else ref.name, unless it is a bare tag (no `/`, `:` or `@`). */
function fullName(descriptor: Descriptor): string | undefined {
  const annotations = descriptor.annotations ?? {};
  for (const value of [annotations[Annotation.containerdImageName], annotations[Annotation.refName]]) {
    if (value !== undefined && /[/:@]/.test(value)) return value;
  }
  return undefined;
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
