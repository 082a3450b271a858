/**
 * What `gc --keep` reads: image lists (one reference per line with `#`
 * comments, or the YAML form `bundle create` reads) and bundles (an OCI
 * layout directory or a tar of one: the names in index.json). Each image
 * becomes a keep entry naming the store repositories it may be:
 *
 *   docker.io/library/nginx:1.25   → library/nginx (the site registry replaces the domain, as sync does)
 *                                    docker.io/library/nginx (a store filled with full names)
 *   site:5000/library/nginx:1.25   → library/nginx (lists that name the site registry already)
 *   with --prefix P                → P/library/nginx
 *
 * A bundle entry keeps its tag and its manifest digest.
 */
import { open, readFile, stat } from "node:fs/promises";
import { BundleError, ImageListError, openBundleFiles, parseImageList, parseIndex, readIndexBytes } from "../bundle/index.ts";
import { Annotation, type Descriptor, systemErrorReason } from "../oci/index.ts";
import { parseNormalizedReference, type Reference, ReferenceError } from "../reference/index.ts";
import type { KeepEntry } from "../store/index.ts";
import { joinPath } from "../transports/index.ts";
import { CommandError } from "./command.ts";

export interface KeepSources {
  entries: KeepEntry[];
  /** Bundle entries that name no repository (a bare tag): nothing can be kept for them. */
  warnings: string[];
}

/** Read every keep source; any unreadable or malformed one is an error naming file and line. */
export async function readKeepSources(paths: string[], prefix?: string): Promise<KeepSources> {
  const out: KeepSources = { entries: [], warnings: [] };
  for (const path of paths) {
    try {
      if (await isBundle(path)) await readBundle(path, prefix, out);
      else readList(path, await readText(path), prefix, out);
    } catch (error) {
      if (error instanceof BundleError) throw new CommandError(`gc: ${error.message}`);
      throw error;
    }
  }
  return out;
}

function readList(path: string, text: string, prefix: string | undefined, out: KeepSources): void {
  for (const request of parseImageList(text, path)) out.entries.push(entryFor(request.name, request.origin, prefix));
}

async function readBundle(path: string, prefix: string | undefined, out: KeepSources): Promise<void> {
  const files = await openBundleFiles(path);
  const { bytes } = await readIndexBytes(files);
  parseIndex(bytes, path).forEach((descriptor, i) => {
    const origin = `${path}: index.json manifests[${i}]`;
    const name = nameOf(descriptor);
    if (name === undefined) {
      // Referrers (signatures, SBOMs) have no name of their own: they stay with their subject.
      if (!descriptor.annotations?.[Annotation.refName] && !descriptor.annotations?.[Annotation.containerdImageName]) return;
      out.warnings.push(`${origin}: ${JSON.stringify(refNameText(descriptor))} names no repository; nothing can be kept for it`);
      return;
    }
    let ref: Reference;
    try {
      ref = parseNormalizedReference(name);
    } catch (error) {
      if (error instanceof ReferenceError) throw new ImageListError(origin, error.describe());
      throw error;
    }
    out.entries.push(entryFor(ref.withDigest(descriptor.digest), origin, prefix));
  });
}

/** The full name of an entry: containerd's annotation, else ref.name unless it is a bare tag. */
function nameOf(descriptor: Descriptor): string | undefined {
  const annotations = descriptor.annotations ?? {};
  for (const value of [annotations[Annotation.containerdImageName], annotations[Annotation.refName]]) {
    if (value !== undefined && /[/:@]/.test(value)) return value;
  }
  return undefined;
}

function refNameText(descriptor: Descriptor): string {
  return descriptor.annotations?.[Annotation.refName] ?? descriptor.annotations?.[Annotation.containerdImageName] ?? "";
}

export function entryFor(ref: Reference, origin: string, prefix?: string): KeepEntry {
  const repositories = prefix ? [joinPath(prefix, ref.path)] : [...new Set([ref.path, ref.name])];
  return {
    repositories,
    ...(ref.tag ? { tag: ref.tag } : {}),
    ...(ref.digest ? { digest: ref.digest } : {}),
    name: ref.toString(),
    origin,
  };
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new CommandError(`gc: Cannot read keep list ${JSON.stringify(path)}: ${systemErrorReason(error)}`);
  }
}

/** A directory (an OCI layout) or a tar (its header has `ustar` at byte 257) is a bundle; anything else a list. */
async function isBundle(path: string): Promise<boolean> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new CommandError(`gc: Cannot read keep list ${JSON.stringify(path)}: ${systemErrorReason(error)}`);
  }
  if (info.isDirectory()) return true;
  const file = await open(path, "r");
  try {
    const header = Buffer.alloc(512);
    const { bytesRead } = await file.read(header, 0, 512, 0);
    return bytesRead === 512 && header.subarray(257, 262).toString("latin1") === "ustar";
  } finally {
    await file.close();
  }
}
