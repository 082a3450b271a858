/**
 * The base of a delta bundle (`--since OLD`): its identity (the digest of
 * its index.json) and the layers it carries, or leaves to its own base in
 * turn, so a chain of deltas stays a chain.
 */
import type { Digest } from "../digest/index.ts";
import { Annotation, type Descriptor, describeZodError, imageIndexSchema } from "../oci/index.ts";
import { parseNormalizedReference } from "../reference/index.ts";
import { type BundleFiles, bundleName, openBundleFiles, readIndexBytes } from "./bundle-files.ts";
import { BundleError } from "./errors.ts";
import { type ReadBlob, walkImage } from "./image-tree.ts";
import { blobPath } from "./layout-documents.ts";

export interface BaseBundle {
  path: string;
  /** Its file name, recorded in the delta for messages. */
  name: string;
  /** Digest of its index.json. */
  index: Digest;
  /**
   * Layers it has (or leaves to its own base), with the repositories (full
   * names) of its images that use each: once the base is synced, the layer
   * is in those repositories of the destination.
   */
  layers: Map<Digest, BaseLayer>;
}

export interface BaseLayer {
  size: number;
  repositories: Set<string>;
}

export async function loadBaseBundle(path: string): Promise<BaseBundle> {
  const files = await openBundleFiles(path);
  const { bytes, digest } = await readIndexBytes(files);
  const entries = parseIndex(bytes, path);
  const read = readerOf(files);
  const layers = new Map<Digest, BaseLayer>();
  for (const entry of entries) {
    const tree = await walkImage(read, entry);
    const problem = tree.problems[0];
    if (problem) {
      throw new BundleError(`${path}: cannot use it as a base: ${blobPath(problem.digest)}: ${problem.message} (see 'stevedore bundle verify')`);
    }
    const repository = repositoryOf(entry);
    for (const b of tree.blobs) {
      if (b.role !== "layer") continue;
      let layer = layers.get(b.descriptor.digest);
      if (!layer) layers.set(b.descriptor.digest, (layer = { size: b.descriptor.size, repositories: new Set() }));
      if (repository) layer.repositories.add(repository);
    }
  }
  return { path, name: bundleName(path), index: digest, layers };
}

/** The repository (full name) an index entry names, if it names one. */
function repositoryOf(entry: Descriptor): string | undefined {
  const name = entry.annotations?.[Annotation.containerdImageName] ?? entry.annotations?.[Annotation.refName];
  if (!name || !/[/:@]/.test(name)) return undefined;
  try {
    return parseNormalizedReference(name).name;
  } catch {
    return undefined;
  }
}

/** The entries of index.json bytes; BundleError when they are not an OCI index. */
export function parseIndex(bytes: Uint8Array, path: string): Descriptor[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new BundleError(`${path}: index.json is not valid JSON: ${(error as Error).message}`);
  }
  const result = imageIndexSchema.safeParse(json);
  if (!result.success) throw new BundleError(`${path}: index.json is not an OCI image index: ${describeZodError(result.error)}`);
  return result.data.manifests;
}

const READ_MAX = 16 * 1024 * 1024;

/** Whole small blobs of a bundle, for walking manifests. */
export function readerOf(files: BundleFiles): ReadBlob {
  return async (digest) => {
    const file = await files.file(blobPath(digest));
    if (!file) return undefined;
    // Manifests and configs are small; a huge file read here is cut, and then fails its digest check.
    return new Uint8Array(await file.slice(0, READ_MAX + 1).arrayBuffer());
  };
}
