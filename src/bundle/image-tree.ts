/**
 * One image's content inside a bundle, walked from its index.json entry:
 * the manifests (an index and its children, checked against their
 * digests and sizes as they are read), and the config and layer blobs they
 * name (listed, not read). Missing or broken manifests are reported as
 * problems, not thrown, so inspect and verify can show all of them.
 */
import { type Digest, digestOf, isVerifiable, verifiableAlgorithm } from "../digest/index.ts";
import {
  type Descriptor,
  FOREIGN_LAYER_TYPES,
  formatPlatform,
  imageConfigSchema,
  manifestReferences,
  MediaType,
  OciError,
  type ParsedManifest,
  parseManifest,
} from "../oci/index.ts";

/** Reads a blob's bytes whole (manifests and configs are small), or undefined when absent. */
export type ReadBlob = (digest: Digest) => Promise<Uint8Array | undefined>;

export interface TreeManifest {
  descriptor: Descriptor;
  parsed: ParsedManifest;
}

export interface TreeBlob {
  descriptor: Descriptor;
  role: "config" | "layer";
  /** The manifest that names it. */
  manifest: Digest;
}

export interface TreeProblem {
  digest: Digest;
  message: string;
}

export interface ImageTree {
  root: Descriptor;
  /** Every manifest once, the root first. */
  manifests: TreeManifest[];
  /** Every config and layer once. */
  blobs: TreeBlob[];
  problems: TreeProblem[];
}

/** The largest config read to learn a platform. */
const CONFIG_MAX = 4 * 1024 * 1024;

/** buildx keeps attestation manifests in the index with this annotation. */
const REFERENCE_TYPE = "vnd.docker.reference.type";

export async function walkImage(read: ReadBlob, root: Descriptor): Promise<ImageTree> {
  const tree: ImageTree = { root, manifests: [], blobs: [], problems: [] };
  const seenManifests = new Set<string>();
  const seenBlobs = new Set<string>();
  const visit = async (descriptor: Descriptor, from?: Digest): Promise<void> => {
    if (seenManifests.has(descriptor.digest)) return;
    seenManifests.add(descriptor.digest);
    const parsed = await readManifest(read, descriptor, from, tree.problems);
    if (!parsed) return;
    tree.manifests.push({ descriptor, parsed });
    const refs = manifestReferences(parsed);
    if (parsed.kind === "image") {
      for (const [i, d] of refs.blobs.entries()) {
        if (seenBlobs.has(d.digest)) continue;
        seenBlobs.add(d.digest);
        tree.blobs.push({ descriptor: d, role: i === 0 ? "config" : "layer", manifest: descriptor.digest });
      }
    }
    for (const child of refs.manifests) await visit(child, descriptor.digest);
  };
  await visit(root);
  return tree;
}

async function readManifest(read: ReadBlob, descriptor: Descriptor, from: Digest | undefined, problems: TreeProblem[]): Promise<ParsedManifest | undefined> {
  const named = from ? `manifest ${from}` : "index.json";
  const bytes = await read(descriptor.digest);
  if (!bytes) {
    problems.push({ digest: descriptor.digest, message: from ? `missing: a manifest that ${named} lists` : "missing: the manifest of an index.json entry" });
    return undefined;
  }
  if (isVerifiable(descriptor.digest)) {
    const actual = digestOf(bytes, verifiableAlgorithm(descriptor.digest));
    if (actual !== descriptor.digest) {
      problems.push({ digest: descriptor.digest, message: `content hashes to ${actual}` });
      return undefined;
    }
  }
  if (bytes.byteLength !== descriptor.size) {
    problems.push({ digest: descriptor.digest, message: `is ${bytes.byteLength} bytes; ${named} says ${descriptor.size}` });
  }
  try {
    return parseManifest(bytes, descriptor.mediaType);
  } catch (error) {
    problems.push({ digest: descriptor.digest, message: OciError.is(error) ? error.message : String(error) });
    return undefined;
  }
}

/**
 * The platforms of an image: its index's entries (attestations left out),
 * or the os/architecture of its config.
 */
export async function platformsOf(read: ReadBlob, tree: ImageTree): Promise<string[]> {
  const root = tree.manifests[0];
  if (!root) return [];
  if (root.parsed.kind === "index") {
    return root.parsed.index.manifests
      .filter((d) => d.platform && !d.annotations?.[REFERENCE_TYPE] && d.platform.os !== "unknown")
      .map((d) => formatPlatform(d.platform!));
  }
  const config = root.parsed.manifest.config;
  if (config.size > CONFIG_MAX) return [];
  const bytes = await read(config.digest);
  if (!bytes) return [];
  try {
    const parsed = imageConfigSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    const c = parsed.success ? parsed.data : undefined;
    return c?.os && c.architecture ? [formatPlatform({ os: c.os, architecture: c.architecture, ...(c.variant ? { variant: c.variant } : {}) })] : [];
  } catch {
    return [];
  }
}

/**
 * The one image manifest `docker load` can take for this image: the root
 * when it is an image with a container config, or the only real platform
 * of an index. Undefined for several platforms, or for artifacts.
 */
export function dockerLoadable(tree: ImageTree): TreeManifest | undefined {
  const isImage = (m: TreeManifest | undefined) =>
    m?.parsed.kind === "image" &&
    (m.parsed.manifest.config.mediaType === MediaType.ociConfig || m.parsed.manifest.config.mediaType === MediaType.dockerConfig) &&
    !m.parsed.manifest.layers.some((l) => FOREIGN_LAYER_TYPES.includes(l.mediaType) && l.urls?.length);
  const root = tree.manifests[0];
  if (!root) return undefined;
  if (root.parsed.kind === "image") return isImage(root) ? root : undefined;
  const real = root.parsed.index.manifests.filter((d) => !d.annotations?.[REFERENCE_TYPE] && d.platform?.os !== "unknown");
  if (real.length !== 1) return undefined;
  const only = tree.manifests.find((m) => m.descriptor.digest === real[0]!.digest);
  return isImage(only) ? only : undefined;
}
