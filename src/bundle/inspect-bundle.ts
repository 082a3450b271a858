/**
 * `bundle inspect`: what a bundle holds, read through its index.json
 * without extracting anything: each image with its digest, platforms and
 * size; the bytes that only one image uses and those several share; and
 * for a delta, the base it needs and what it leaves to it.
 */
import type { Digest } from "../digest/index.ts";
import { Annotation } from "../oci/index.ts";
import { deltaBaseOf } from "../transports/index.ts";
import { parseIndex, readerOf } from "./base-bundle.ts";
import { type BundleFiles, openBundleFiles, readIndexBytes } from "./bundle-files.ts";
import { type ImageTree, platformsOf, walkImage } from "./image-tree.ts";
import { blobPath, compare } from "./layout-documents.ts";

export interface InspectedImage {
  /** The reference it is named by (ref.name), or its digest when unnamed. */
  name: string;
  digest: Digest;
  mediaType: string;
  platforms: string[];
  /** Bytes of all its content: manifests, configs, layers (each once). */
  size: number;
  /** Bytes in the bundle that no other image uses. */
  unique: number;
  /** Bytes of its content left to a delta's base. */
  inBase: number;
  /** Content that should be in the bundle and is not. */
  missing: number;
}

export interface BundleReport {
  path: string;
  kind: "directory" | "archive";
  /** Digest of index.json: the bundle's identity. */
  index: Digest;
  images: InspectedImage[];
  /** Manifests in the index that refer to another (signatures, SBOMs). */
  referrers: number;
  /** Distinct content in the bundle, and its bytes. */
  blobs: number;
  bytes: number;
  /** Content several images use: stored once. */
  shared: { blobs: number; bytes: number };
  /** Images `docker load` can read. */
  dockerImages: number;
  delta?: { base: Digest; name?: string; blobs: number; bytes: number };
}

export async function inspectBundle(path: string): Promise<BundleReport> {
  const files = await openBundleFiles(path);
  const { bytes, digest } = await readIndexBytes(files);
  const entries = parseIndex(bytes, path);
  const indexAnnotations = (JSON.parse(new TextDecoder().decode(bytes)) as { annotations?: Record<string, string> }).annotations;
  const base = deltaBaseOf(indexAnnotations);
  const read = readerOf(files);
  const sizes = new Map((await files.blobFiles()).map((f) => [f.name, f.size]));
  const present = (d: Digest) => sizes.has(blobPath(d));

  const images: { entry: InspectedImage; tree: ImageTree }[] = [];
  let referrers = 0;
  for (const descriptor of entries) {
    const name = descriptor.annotations?.[Annotation.refName] ?? descriptor.annotations?.[Annotation.containerdImageName];
    const tree = await walkImage(read, descriptor);
    const root = tree.manifests[0];
    const isReferrer = !name && root && (root.parsed.kind === "index" ? root.parsed.index.subject : root.parsed.manifest.subject);
    if (isReferrer) {
      referrers++;
      continue;
    }
    images.push({
      tree,
      entry: {
        name: name ?? descriptor.digest,
        digest: descriptor.digest,
        mediaType: descriptor.mediaType,
        platforms: await platformsOf(read, tree),
        size: 0,
        unique: 0,
        inBase: 0,
        missing: 0,
      },
    });
  }

  // Who uses what: each image's content once, counted across images.
  const users = new Map<Digest, { size: number; count: number }>();
  const contentOf = (tree: ImageTree) => {
    const all = new Map<Digest, number>();
    for (const m of tree.manifests) all.set(m.descriptor.digest, m.descriptor.size);
    for (const b of tree.blobs) all.set(b.descriptor.digest, b.descriptor.size);
    for (const p of tree.problems) if (!all.has(p.digest)) all.set(p.digest, 0);
    return all;
  };
  for (const { tree } of images) {
    for (const [d, size] of contentOf(tree)) {
      const u = users.get(d) ?? { size, count: 0 };
      u.count++;
      users.set(d, u);
    }
  }
  for (const { entry, tree } of images) {
    for (const [d, size] of contentOf(tree)) {
      entry.size += size;
      if (present(d)) {
        if (users.get(d)!.count === 1) entry.unique += size;
      } else if (base?.blobs.has(d)) entry.inBase += size;
      else entry.missing++;
    }
  }
  let blobs = 0;
  let total = 0;
  const shared = { blobs: 0, bytes: 0 };
  const inBase = new Map<Digest, number>();
  for (const [d, u] of users) {
    if (present(d)) {
      blobs++;
      total += u.size;
      if (u.count > 1) {
        shared.blobs++;
        shared.bytes += u.size;
      }
    } else if (base?.blobs.has(d)) inBase.set(d, u.size);
  }
  return {
    path,
    kind: files.kind,
    index: digest,
    images: images.map((i) => i.entry).sort((a, b) => compare(a.name, b.name)),
    referrers,
    blobs,
    bytes: total,
    shared,
    dockerImages: await dockerImageCount(files),
    ...(base
      ? {
          delta: {
            base: base.index,
            ...(base.name ? { name: base.name } : {}),
            blobs: base.blobs.size,
            bytes: [...inBase.values()].reduce((a, b) => a + b, 0),
          },
        }
      : {}),
  };
}

async function dockerImageCount(files: BundleFiles): Promise<number> {
  const file = await files.file("manifest.json");
  if (!file || file.size > 16 * 1024 * 1024) return 0;
  try {
    const json = JSON.parse(await file.text());
    return Array.isArray(json) ? json.length : 0;
  } catch {
    return 0;
  }
}
