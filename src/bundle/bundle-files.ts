/**
 * A bundle's files, whether it is a directory or a tar: what inspect,
 * verify and a delta's base need to read (index.json as bytes, every
 * blob present, each file as a Blob — a file, or a zero-copy slice of the
 * tar). Nothing is extracted.
 */
import { readdir, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { type Digest, digestOf, isDigest } from "../digest/index.ts";
import { TarIndex, TransportError } from "../transports/index.ts";
import { directoryFiles } from "../transports/layout/oci-layout-home.ts";
import { BundleError } from "./errors.ts";

export interface BundleFiles {
  /** The path as given. */
  path: string;
  kind: "directory" | "archive";
  /** A file of the layout (`index.json`, `blobs/sha256/…`), or undefined when absent. */
  file(name: string): Promise<Blob | undefined>;
  /** The layout's blob files (`blobs/<alg>/<encoded>`), sorted, with their sizes. */
  blobFiles(): Promise<{ name: string; size: number }[]>;
}

/** Open a bundle for reading. Throws BundleError when the path is neither a directory nor a tar. */
export async function openBundleFiles(path: string): Promise<BundleFiles> {
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new BundleError(`${JSON.stringify(path)}: no such file or directory`);
  }
  if (info.isDirectory()) return directoryBundle(path);
  let tar: TarIndex;
  try {
    tar = await TarIndex.open(path);
  } catch (error) {
    if (error instanceof TransportError) {
      const reason = error.message.startsWith(`${path}: `) ? error.message.slice(path.length + 2) : error.message;
      throw new BundleError(`${path}: not a bundle: ${reason}`);
    }
    throw error;
  }
  return archiveBundle(path, tar);
}

function directoryBundle(path: string): BundleFiles {
  const files = directoryFiles(path);
  return {
    path,
    kind: "directory",
    file: (name) => files.file(name),
    async blobFiles() {
      const out: { name: string; size: number }[] = [];
      let algorithms: string[];
      try {
        algorithms = await readdir(join(path, "blobs"));
      } catch {
        return out;
      }
      for (const algorithm of algorithms) {
        let names: string[];
        try {
          names = await readdir(join(path, "blobs", algorithm));
        } catch {
          continue;
        }
        for (const name of names) {
          const rel = `blobs/${algorithm}/${name}`;
          if (!isBlobName(rel)) continue;
          const s = await stat(join(path, rel)).catch(() => undefined);
          if (s?.isFile()) out.push({ name: rel, size: s.size });
        }
      }
      return out.sort((a, b) => compare(a.name, b.name));
    },
  };
}

function archiveBundle(path: string, tar: TarIndex): BundleFiles {
  return {
    path,
    kind: "archive",
    file: async (name) => tar.file(name),
    async blobFiles() {
      const out: { name: string; size: number }[] = [];
      for (const entry of tar.under("blobs")) {
        if (entry.type === "file" && isBlobName(entry.name)) out.push({ name: entry.name, size: entry.size });
      }
      return out.sort((a, b) => compare(a.name, b.name));
    },
  };
}

/** `blobs/<alg>/<encoded>` → the digest, when the name is one. */
export function digestOfBlobName(name: string): Digest | undefined {
  const match = /^blobs\/([a-z0-9]+(?:[+._-][a-z0-9]+)*)\/([a-zA-Z0-9=_-]+)$/.exec(name);
  const digest = match ? `${match[1]}:${match[2]}` : undefined;
  return digest && isDigest(digest) ? digest : undefined;
}

function isBlobName(name: string): boolean {
  return digestOfBlobName(name) !== undefined;
}

/** index.json's bytes and their digest: the identity of a bundle. */
export async function readIndexBytes(files: BundleFiles): Promise<{ bytes: Uint8Array; digest: Digest }> {
  const file = await files.file("index.json");
  if (!file) throw new BundleError(`${files.path}: not a bundle: no index.json`);
  if (file.size > 64 * 1024 * 1024) throw new BundleError(`${files.path}: index.json is ${file.size} bytes; that is not an index`);
  const bytes = new Uint8Array(await file.arrayBuffer());
  return { bytes, digest: digestOf(bytes) };
}

/** The file name a bundle is known by in messages and delta records. */
export function bundleName(path: string): string {
  return basename(path.replace(/\/+$/, "")) || path;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
