/**
 * `bundle create`: pull a release's images into one OCI layout, as a
 * directory or a tar (the original `PullAndExportImages`).
 *
 * It is a copy: the images' registries are the source, the bundle's
 * staging layout the destination, and the copy engine does the rest (one
 * pool of parallel transfers for the whole run, each blob once whatever
 * number of images share it, every digest verified as the bytes arrive,
 * progress as events). Then the bundle's own documents are written
 * (layout-documents.ts) and the bundle put in place (write-bundle.ts).
 *
 *   const summary = await createBundle({ images, output: "app-7.1.tar", format: "archive", onEvent });
 *
 * A failed run leaves no output file: a tar is staged in a directory
 * beside it, removed whatever happens. A new output directory is removed
 * when nothing was downloaded into it; otherwise it stays, and running
 * again fetches only what is missing.
 */
import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { type Digest, digestOf } from "../digest/index.ts";
import { Annotation, type Descriptor, type ImageReader, isClosable, manifestReferences, parseManifest, type Platform } from "../oci/index.ts";
import { type SyncEventListener, type SyncSummary, syncImages } from "../sync/index.ts";
import { deltaAnnotations, OciLayoutHome, TransportError } from "../transports/index.ts";
import { tempPathFor } from "../transports/fs/durable-file.ts";
import { type BaseBundle, loadBaseBundle, parseIndex } from "./base-bundle.ts";
import { type BundleFiles, openBundleFiles, readIndexBytes } from "./bundle-files.ts";
import { BundleStaging, stagingDestination } from "./bundle-staging.ts";
import { BundleError } from "./errors.ts";
import { dedupeImages, type ImageRequest, refNameOf } from "./image-list.ts";
import { dockerLoadable, type ImageTree, type ReadBlob, walkImage } from "./image-tree.ts";
import { blobPath, compare, type DockerImage, indexJson, manifestJson, type NamedEntry } from "./layout-documents.ts";
import { eventNameOf, imageSource, registrySource, type RegistryOptions } from "./registry-source.ts";
import { type BundleParts, finishBundleDirectory, writeBundleArchive } from "./write-bundle.ts";

export type BundleFormat = "directory" | "archive";

export interface CreateBundleOptions {
  images: ImageRequest[];
  output: string;
  format: BundleFormat;
  /** Platforms to keep of multi-arch images, unless an image names its own. */
  platforms?: Platform[];
  /** Blob transfers at once. */
  parallel?: number;
  /** A base bundle: its layers are left out, and the bundle records that it needs them. */
  since?: string;
  /** Also bundle each image's referrers (signatures, SBOMs). */
  referrers?: boolean;
  /** Fetch everything again, even what the output already has. */
  forcePull?: boolean;
  /** Credentials, TLS and the like for the registries. */
  registry?: RegistryOptions;
  signal?: AbortSignal;
  onEvent?: SyncEventListener;
  /** Called once the copy is done and the bundle is being written. */
  onWriting?: (what: { blobs: number; bytes: number }) => void;
  /** Read the images from this home instead of their registries (its repositories are full names). */
  from?: ImageReader;
}

export interface BundleSummary {
  output: string;
  format: BundleFormat;
  /** Digest of index.json: the bundle's identity, which a delta records. */
  index: Digest;
  images: { name: string; digest: Digest; mediaType: string }[];
  /** Referrer manifests bundled with the images. */
  referrers: number;
  /** Files under blobs/ (manifests included), and their bytes. */
  blobs: number;
  bytes: number;
  /** Images `docker load` can read from manifest.json. */
  dockerImages: number;
  /** For a delta: the base it needs, and what it leaves to it. */
  delta?: { base: Digest; name: string; blobs: number; bytes: number };
  /** Blob files of an output directory that no image needs any more, removed. */
  removed: number;
  /** What the copy moved. */
  copy: SyncSummary;
}

export async function createBundle(options: CreateBundleOptions): Promise<BundleSummary> {
  const images = dedupeImages(options.images);
  if (images.length === 0) throw new BundleError("No images to bundle: name them as arguments or in a list with -f");
  if (options.since && resolve(options.since) === resolve(options.output)) {
    throw new BundleError(`--since ${JSON.stringify(options.since)} is the output itself; a delta is written beside its base`);
  }
  const base = options.since ? await loadBaseBundle(options.since) : undefined;
  const output = await prepareOutput(options, base);
  let copy: SyncSummary | undefined;
  let succeeded = false;
  try {
    const staging = new BundleStaging(output.layout, {
      ...(output.reuse ? { reuse: output.reuse } : {}),
      ...(base ? { base: base.layers } : {}),
      forcePull: options.forcePull ?? false,
    });
    const digests = new Map<string, Digest>();
    const source = options.from ? imageSource(images, options.from) : registrySource(images, options.registry);
    try {
      copy = await syncImages(source, stagingDestination(staging), {
        ...(options.parallel ? { parallel: options.parallel } : {}),
        ...(options.platforms?.length ? { platforms: options.platforms } : {}),
        referrers: options.referrers ?? false,
        force: options.forcePull ?? false,
        keepGoing: false,
        ...(options.signal ? { signal: options.signal } : {}),
        onEvent: (event) => {
          if (event.type === "image-done") digests.set(event.image, event.digest);
          options.onEvent?.(event);
        },
      });
    } finally {
      if (!options.from && isClosable(source.home)) await source.home.close();
    }
    if (copy.interrupted) throw new BundleError("Interrupted; no bundle written");
    if (copy.images.failed > 0 || copy.images.cancelled > 0) {
      throw new BundleError(`No bundle written: ${copy.images.failed} of ${copy.images.total} images failed`, copy.failures);
    }
    const assembled = await assemble(staging, images, digests, options, base);
    options.onWriting?.({ blobs: assembled.parts.blobs.length, bytes: assembled.bytes });
    let removed = 0;
    if (options.format === "archive") await writeBundleArchive(options.output, assembled.parts);
    else removed = await finishBundleDirectory(options.output, assembled.parts);
    succeeded = true;
    return { ...assembled.summary, output: options.output, format: options.format, removed, copy };
  } finally {
    await output.cleanup(succeeded, copy);
  }
}

interface PreparedOutput {
  layout: OciLayoutHome;
  reuse?: BundleFiles;
  cleanup(succeeded: boolean, copy: SyncSummary | undefined): Promise<void>;
}

async function prepareOutput(options: CreateBundleOptions, base: BaseBundle | undefined): Promise<PreparedOutput> {
  const path = options.output;
  const info = await stat(path).catch(() => undefined);
  const forcePull = options.forcePull ?? false;
  if (options.format === "directory") {
    if (info && !info.isDirectory()) throw new BundleError(`${JSON.stringify(path)} is a file; name a directory, or a file ending in .tar`);
    const elsewhere = async (digest: Digest) => base?.layers.has(digest) ?? false;
    let layout: OciLayoutHome;
    try {
      layout = await OciLayoutHome.open(path, { create: true, elsewhere });
    } catch (error) {
      if (error instanceof TransportError) {
        throw new BundleError(`${error.message}; a bundle goes into a new or empty directory, or one a bundle was written to before`);
      }
      throw error;
    }
    return {
      layout,
      async cleanup(succeeded, copy) {
        // A directory this run made and put nothing worth keeping into goes again.
        if (!succeeded && !info && (copy?.blobs.pushed ?? 0) === 0) await rm(path, { recursive: true, force: true });
      },
    };
  }
  if (info?.isDirectory()) throw new BundleError(`${JSON.stringify(path)} is a directory; name a file ending in .tar, or write the bundle as a directory`);
  const reuse = info && !forcePull ? await reusable(path) : undefined;
  const stagingDirectory = tempPathFor(path);
  const elsewhere = async (digest: Digest) => (base?.layers.has(digest) ?? false) || (await reuse?.file(blobPath(digest))) !== undefined;
  try {
    const layout = await OciLayoutHome.open(stagingDirectory, { create: true, elsewhere, tagRepository: "bundle" });
    return {
      layout,
      ...(reuse ? { reuse } : {}),
      cleanup: () => rm(stagingDirectory, { recursive: true, force: true }),
    };
  } catch (error) {
    await rm(stagingDirectory, { recursive: true, force: true });
    throw error;
  }
}

/** The tar being replaced, when it is a bundle whose blobs can be taken instead of fetched. */
async function reusable(path: string): Promise<BundleFiles | undefined> {
  try {
    const files = await openBundleFiles(path);
    return (await files.file("oci-layout")) ? files : undefined;
  } catch {
    return undefined;
  }
}

interface Assembled {
  parts: BundleParts;
  bytes: number;
  summary: Omit<BundleSummary, "output" | "format" | "removed" | "copy">;
}

/**
 * From what the copy left in the staging layout (and the reused output):
 * each image's tree, the referrers that belong to them, what a delta
 * leaves to its base, and the documents.
 */
async function assemble(
  staging: BundleStaging,
  images: ImageRequest[],
  digests: Map<string, Digest>,
  options: CreateBundleOptions,
  base: BaseBundle | undefined,
): Promise<Assembled> {
  const read: ReadBlob = async (digest) => {
    const file = await staging.file(digest);
    return file ? new Uint8Array(await file.arrayBuffer()) : undefined;
  };
  const named: NamedEntry[] = [];
  const trees: { request: ImageRequest; tree: ImageTree }[] = [];
  for (const request of images) {
    const digest = digests.get(eventNameOf(request));
    if (!digest) throw new BundleError(`${request.name}: the copy did not report its digest`);
    const descriptor = await rootDescriptor(read, digest);
    const tree = await complete(read, descriptor, request.name.toString());
    named.push({ refName: refNameOf(request.name), descriptor });
    trees.push({ request, tree });
  }
  // Manifest digest → the repository its image lands in (referrers land beside their subject).
  const repositories = new Map<string, string>();
  for (const { request, tree } of trees) for (const m of tree.manifests) repositories.set(m.descriptor.digest, request.name.name);
  const referrerTrees = options.referrers ? await referrersOf(staging, read, repositories) : [];
  const all = [...trees.map((t) => t.tree), ...referrerTrees];

  // A delta leaves a layer to its base when an image needs it in a repository the base has it in
  // (the other repositories that need it mount it from there, as the copy did).
  const left = new Set<string>();
  for (const tree of all) {
    const repository = repositories.get(tree.root.digest);
    for (const b of tree.blobs) {
      if (repository && base?.layers.get(b.descriptor.digest)?.repositories.has(repository)) left.add(b.descriptor.digest);
    }
  }
  // Content: every manifest; every config and layer not left to the base.
  const content = new Map<Digest, number>();
  const omitted = new Map<Digest, number>();
  for (const tree of all) {
    for (const m of tree.manifests) content.set(m.descriptor.digest, m.descriptor.size);
    for (const b of tree.blobs) {
      if (left.has(b.descriptor.digest)) omitted.set(b.descriptor.digest, b.descriptor.size);
      else content.set(b.descriptor.digest, b.descriptor.size);
    }
  }
  const blobs: BundleParts["blobs"] = [];
  let bytes = 0;
  for (const [digest, size] of content) {
    const file = await staging.file(digest);
    if (!file || file.size !== size) throw new BundleError(`${digest} is ${file ? `${file.size} bytes, not ${size}` : "missing"} after the copy`);
    blobs.push({ digest, file });
    bytes += size;
  }

  const annotations = base ? deltaAnnotations({ index: base.index, name: base.name, blobs: new Set(omitted.keys()) }) : undefined;
  const index = indexJson(
    named,
    referrerTrees.map((t) => t.root),
    annotations,
  );
  // A delta cannot be loaded on its own: no manifest.json for docker.
  const docker = base ? [] : dockerImages(trees);
  const parts: BundleParts = { index, blobs, ...(docker.length ? { manifestJson: manifestJson(docker) } : {}) };
  return {
    parts,
    bytes,
    summary: {
      index: digestOf(index),
      images: named
        .map((n) => ({ name: n.refName, digest: n.descriptor.digest, mediaType: n.descriptor.mediaType }))
        .sort((a, b) => compare(a.name, b.name)),
      referrers: referrerTrees.length,
      blobs: blobs.length,
      bytes,
      dockerImages: docker.length,
      ...(base
        ? { delta: { base: base.index, name: base.name, blobs: omitted.size, bytes: [...omitted.values()].reduce((a, b) => a + b, 0) } }
        : {}),
    },
  };
}

async function rootDescriptor(read: ReadBlob, digest: Digest): Promise<Descriptor> {
  const bytes = await read(digest);
  if (!bytes) throw new BundleError(`manifest ${digest} is missing after the copy`);
  const parsed = parseManifest(bytes);
  const artifactType = parsed.kind === "index" ? parsed.index.artifactType : parsed.manifest.artifactType;
  return { mediaType: parsed.mediaType, digest, size: bytes.byteLength, ...(artifactType ? { artifactType } : {}) };
}

/** A tree the copy just wrote: anything missing or broken in it is a bug, not bad input. */
async function complete(read: ReadBlob, root: Descriptor, what: string): Promise<ImageTree> {
  const tree = await walkImage(read, root);
  const problem = tree.problems[0];
  if (problem) throw new BundleError(`${what}: ${problem.digest}: ${problem.message} after the copy`);
  return tree;
}

/**
 * The referrers of the bundled manifests (and theirs, in turn): the
 * unnamed index entries of the staging layout and of the reused output
 * whose subject is in the bundle.
 */
async function referrersOf(staging: BundleStaging, read: ReadBlob, manifests: Map<string, string>): Promise<ImageTree[]> {
  const candidates = new Map<string, Descriptor>();
  for (const entry of await staging.layout.entries()) if (!entry.name) candidates.set(entry.descriptor.digest, entry.descriptor);
  if (staging.options.reuse && !staging.options.forcePull) {
    const reused = await readIndexBytes(staging.options.reuse).catch(() => undefined);
    const entries = reused ? parseIndex(reused.bytes, staging.options.reuse.path) : [];
    for (const d of entries) {
      if (!d.annotations?.[Annotation.refName] && !d.annotations?.[Annotation.containerdImageName]) candidates.set(d.digest, d);
    }
  }
  const out: ImageTree[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const [digest, descriptor] of candidates) {
      if (manifests.has(digest)) continue;
      const bytes = await read(descriptor.digest);
      if (!bytes) continue;
      const subject = manifestReferences(parseManifest(bytes, descriptor.mediaType)).subject;
      const repository = subject && manifests.get(subject.digest);
      if (!repository) continue;
      const tree = await complete(read, descriptor, `referrer ${digest}`);
      for (const m of tree.manifests) manifests.set(m.descriptor.digest, repository);
      out.push(tree);
      grew = true;
    }
  }
  return out;
}

/** manifest.json entries: one per distinct loadable image, with all its tags. */
function dockerImages(trees: { request: ImageRequest; tree: ImageTree }[]): DockerImage[] {
  const byContent = new Map<string, DockerImage>();
  for (const { request, tree } of trees) {
    const image = dockerLoadable(tree);
    if (!image || image.parsed.kind !== "image") continue;
    const config = image.parsed.manifest.config.digest;
    const layers = manifestReferences(image.parsed).blobs.slice(1).map((d) => d.digest);
    const key = [config, ...layers].join(",");
    let entry = byContent.get(key);
    if (!entry) byContent.set(key, (entry = { repoTags: [], config, layers }));
    if (request.name.tag) entry.repoTags.push(`${request.name.name}:${request.name.tag}`);
  }
  for (const entry of byContent.values()) entry.repoTags.sort();
  return [...byContent.values()];
}
