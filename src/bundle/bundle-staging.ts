/**
 * Where the copy engine writes a bundle that is a directory: the OCI
 * layout itself, seen through what counts as already there:
 *
 * - the layout's own blobs (a re-run into the same directory moves only
 *   what is new);
 * - the layers of the base bundle of a delta, which are left out.
 *
 * With force-pull only the base counts: everything else is fetched again,
 * verified, and replaces what was there. Manifests go in by digest only:
 * index.json is written once, at the end (write-bundle.ts).
 */
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Digest } from "../digest/index.ts";
import {
  type BlobContent,
  type BlobFileWriter,
  type BlobInput,
  type BlobMounter,
  type Descriptor,
  type ImageHome,
  type ListOptions,
  type ManifestContent,
} from "../oci/index.ts";
import type { DestinationEndpoint } from "../transports/index.ts";
import { commitVerified } from "../transports/fs/durable-file.ts";
import type { OciLayoutHome } from "../transports/layout/oci-layout-home.ts";
import type { BaseLayer } from "./base-bundle.ts";
import { blobPath } from "./layout-documents.ts";

export interface StagingOptions {
  /**
   * Layers of the base bundle and the repositories that have them: a layer
   * an image needs in one of those repositories is left to the base (the
   * destination has it there once the base is synced), and never fetched.
   */
  base?: ReadonlyMap<Digest, BaseLayer>;
  forcePull?: boolean;
}

export class BundleStaging implements ImageHome, BlobMounter, BlobFileWriter {
  readonly description: string;
  /** Blobs fetched in this run. */
  readonly #fetched = new Set<string>();

  constructor(
    readonly layout: OciLayoutHome,
    readonly options: StagingOptions = {},
  ) {
    this.description = layout.description;
  }

  /** The blob's size when the layout has it. */
  localSize(digest: Digest): Promise<number | undefined> {
    return this.layout.statBlob("", digest);
  }

  /** A file of the layout, if there. */
  async file(digest: Digest): Promise<Blob | undefined> {
    const staged = Bun.file(join(this.layout.directory, blobPath(digest)));
    return (await staged.exists()) ? staged : undefined;
  }

  async statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    const base = this.options.base?.get(digest);
    if (base?.repositories.has(repository)) return base.size;
    if (this.options.forcePull) return undefined;
    return this.localSize(digest);
  }

  async hasManifest(_repository: string, digest: Digest): Promise<boolean> {
    if (this.options.forcePull) return false;
    return (await this.localSize(digest)) !== undefined;
  }

  putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    return this.writeBlob(repository, blob, body, () => {});
  }

  async writeBlob(
    repository: string,
    blob: BlobInput,
    body: ReadableStream<Uint8Array> | Blob,
    onProgress: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    if (!this.options.forcePull || (await this.layout.statBlob(repository, blob.digest)) === undefined) {
      await this.layout.writeBlob(repository, blob, body, onProgress, signal);
    } else {
      // Fetched again on purpose: verified, then put in place of the old file.
      const path = join(this.layout.directory, blobPath(blob.digest));
      await mkdir(dirname(path), { recursive: true });
      await commitVerified(path, body, { digest: blob.digest, ...(blob.size !== undefined ? { size: blob.size } : {}) }, {
        tempDirectory: this.layout.directory,
        onProgress,
        ...(signal ? { signal } : {}),
      });
    }
    this.#fetched.add(blob.digest);
  }

  putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    return this.layout.putManifest(repository, reference, content);
  }

  /**
   * One pool of content: a blob staged (or reused) is there for every
   * repository. A base layer mounts from a repository that has it in the
   * base: so will the destination's sync of this bundle.
   */
  async mountBlob(_repository: string, from: string | undefined, digest: Digest): Promise<boolean> {
    if (from !== undefined && this.options.base?.get(digest)?.repositories.has(from)) return true;
    // With force-pull, only what this run fetched counts.
    if (this.options.forcePull) return this.#fetched.has(digest);
    return (await this.localSize(digest)) !== undefined;
  }

  resolve(repository: string, reference: string): Promise<Descriptor> {
    return this.layout.resolve(repository, reference);
  }

  manifest(repository: string, reference: string): Promise<ManifestContent> {
    return this.layout.manifest(repository, reference);
  }

  blob(repository: string, digest: Digest): Promise<BlobContent> {
    return this.layout.blob(repository, digest);
  }

  repositories(options?: ListOptions): Promise<string[]> {
    return this.layout.repositories(options);
  }

  tags(repository: string, options?: ListOptions): Promise<string[]> {
    return this.layout.tags(repository, options);
  }
}

/** Each image lands under its full name, by digest: no tags (index.json comes at the end). */
export function stagingDestination(staging: BundleStaging): DestinationEndpoint {
  return { home: staging, target: (image) => ({ repository: image.name.name }) };
}
