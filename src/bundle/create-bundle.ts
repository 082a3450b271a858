/**
 * `bundle create`: pull a release's images into one OCI layout, as a
 * directory or a tar (the original `PullAndExportImages`).
 *
 * It is a copy: the images' registries are the source, the bundle the
 * destination, and the copy engine does the rest (one pool of parallel
 * transfers for the whole run, each blob once whatever number of images
 * share it, every digest verified as the bytes arrive, progress as
 * events). Once the engine has planned, the bundle's content and
 * documents are known (bundle-contents.ts): a tar is laid out then and
 * each blob streams straight to its place in it (bundle-archive.ts); a
 * directory receives the blobs as files (bundle-staging.ts) and gets its
 * documents at the end (write-bundle.ts).
 *
 *   const summary = await createBundle({ images, output: "app-7.1.tar", format: "archive", onEvent });
 *
 * A failed run leaves no output file: a tar is written to a temporary
 * file beside it, renamed over the output only when complete. A new
 * output directory is removed when nothing was downloaded into it;
 * otherwise it stays, and running again fetches only what is missing.
 */
import { rm, stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { Digest } from "../digest/index.ts";
import { type ImageReader, isClosable, type Platform } from "../oci/index.ts";
import { type SyncEventListener, type SyncSummary, syncImages } from "../sync/index.ts";
import { type DestinationEndpoint, OciLayoutHome, TransportError } from "../transports/index.ts";
import { type BaseBundle, loadBaseBundle, readerOf } from "./base-bundle.ts";
import { BundleArchive } from "./bundle-archive.ts";
import { type BundleContents, bundleContents } from "./bundle-contents.ts";
import { type BundleFiles, openBundleFiles } from "./bundle-files.ts";
import { BundleStaging, stagingDestination } from "./bundle-staging.ts";
import { BundleError } from "./errors.ts";
import { dedupeImages, type ImageRequest } from "./image-list.ts";
import type { ReadBlob } from "./image-tree.ts";
import { compare } from "./layout-documents.ts";
import { imageSource, registrySource, type RegistryOptions } from "./registry-source.ts";
import { type BundleParts, finishBundleDirectory } from "./write-bundle.ts";

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
  const output = await openOutput(options, base);
  let copy: SyncSummary | undefined;
  let succeeded = false;
  try {
    let contents: BundleContents | undefined;
    const source = options.from ? imageSource(images, options.from) : registrySource(images, options.registry);
    try {
      copy = await syncImages(source, output.destination, {
        ...(options.parallel ? { parallel: options.parallel } : {}),
        ...(options.platforms?.length ? { platforms: options.platforms } : {}),
        referrers: options.referrers ?? false,
        force: options.forcePull ?? false,
        keepGoing: false,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onEvent ? { onEvent: options.onEvent } : {}),
        beforeTransfer: async (plan) => {
          // A failed plan moves nothing: the run ends, and so does this bundle.
          if (plan.images.some((i) => i.action === "failed" || i.action === "cancelled")) return;
          contents = await bundleContents({ images, plan, read: output.read, ...(base ? { base } : {}) });
          await output.prepare(contents);
        },
      });
    } finally {
      if (!options.from && isClosable(source.home)) await source.home.close();
    }
    if (copy.interrupted) throw new BundleError("Interrupted; no bundle written");
    if (copy.images.failed > 0 || copy.images.cancelled > 0) {
      throw new BundleError(`No bundle written: ${copy.images.failed} of ${copy.images.total} images failed`, copy.failures);
    }
    if (!contents) throw new BundleError("No bundle written: the copy made no plan");
    const removed = await output.finish(contents);
    succeeded = true;
    return {
      output: options.output,
      format: options.format,
      index: contents.indexDigest,
      images: contents.named
        .map((n) => ({ name: n.refName, digest: n.descriptor.digest, mediaType: n.descriptor.mediaType }))
        .sort((a, b) => compare(a.name, b.name)),
      referrers: contents.referrers.length,
      blobs: contents.content.size,
      bytes: sum(contents.content.values()),
      dockerImages: contents.dockerImages,
      ...(base ? { delta: { base: base.index, name: base.name, blobs: contents.omitted.size, bytes: sum(contents.omitted.values()) } } : {}),
      removed,
      copy,
    };
  } finally {
    await output.cleanup(succeeded, copy);
  }
}

/** Where the copy writes, and how the bundle is finished or given up. */
interface Output {
  destination: DestinationEndpoint;
  /** Manifests the output already holds (a re-run finds them present). */
  read: ReadBlob;
  /** The plan is made: lay the output out. */
  prepare(contents: BundleContents): Promise<void>;
  /** The copy is done: put the bundle in place. Returns blob files removed. */
  finish(contents: BundleContents): Promise<number>;
  cleanup(succeeded: boolean, copy: SyncSummary | undefined): Promise<void>;
}

async function openOutput(options: CreateBundleOptions, base: BaseBundle | undefined): Promise<Output> {
  const path = options.output;
  const info = await stat(path).catch(() => undefined);
  const forcePull = options.forcePull ?? false;
  if (options.format === "directory") {
    if (info && !info.isDirectory()) throw new BundleError(`${JSON.stringify(path)} is a file; name a directory, or a file ending in .tar`);
    let layout: OciLayoutHome;
    try {
      layout = await OciLayoutHome.open(path, { create: true, elsewhere: async (digest) => base?.layers.has(digest) ?? false });
    } catch (error) {
      if (error instanceof TransportError) {
        throw new BundleError(`${error.message}; a bundle goes into a new or empty directory, or one a bundle was written to before`);
      }
      throw error;
    }
    const staging = new BundleStaging(layout, { ...(base ? { base: base.layers } : {}), forcePull });
    return {
      destination: stagingDestination(staging),
      read: async (digest) => {
        const file = await staging.file(digest);
        return file ? new Uint8Array(await file.arrayBuffer()) : undefined;
      },
      prepare: async () => {},
      async finish(contents) {
        const blobs: BundleParts["blobs"] = [];
        for (const [digest, size] of contents.content) {
          const file = await staging.file(digest);
          if (!file || file.size !== size) throw new BundleError(`${digest} is ${file ? `${file.size} bytes, not ${size}` : "missing"} after the copy`);
          blobs.push({ digest, file });
        }
        return finishBundleDirectory(path, {
          index: contents.index,
          blobs,
          ...(contents.manifestJson ? { manifestJson: contents.manifestJson } : {}),
        });
      },
      async cleanup(succeeded, copy) {
        // A directory this run made and put nothing worth keeping into goes again.
        if (!succeeded && !info && (copy?.blobs.pushed ?? 0) === 0) await rm(path, { recursive: true, force: true });
      },
    };
  }
  if (info?.isDirectory()) throw new BundleError(`${JSON.stringify(path)} is a directory; name a file ending in .tar, or write the bundle as a directory`);
  const reuse = info && !forcePull ? await reusable(path) : undefined;
  const archive = await BundleArchive.create(path, { ...(reuse ? { reuse } : {}), ...(base ? { base: base.layers } : {}), forcePull });
  return {
    destination: { home: archive, target: (image) => ({ repository: image.name.name }) },
    read: reuse ? readerOf(reuse) : async () => undefined,
    prepare: (contents) => archive.prepare(contents),
    finish: async () => {
      await archive.finish();
      return 0;
    },
    cleanup: async () => archive.abort(),
  };
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

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}
