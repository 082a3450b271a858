/**
 * The read side of an OCI image layout, over files from a directory or a
 * tar. A layout is one content-addressed pool: a blob or manifest present
 * is present for every repository; repositories and tags come from the
 * names in index.json.
 *
 * Blobs are served as they are, unverified: the consumer (the copy engine,
 * a pulling client) verifies while it streams. Manifests are small and are
 * checked against their digest here, since a tag resolving to the wrong
 * bytes is a broken layout.
 */
import { type Digest, digestOf, isDigest } from "../../digest/index.ts";
import {
  annotationsOf,
  artifactTypeOf,
  type BlobContent,
  type ByteRange,
  type Descriptor,
  type ImageReader,
  type ListOptions,
  MANIFEST_SIZE_MAX,
  type ManifestContent,
  manifestReferences,
  OciError,
  type ParsedManifest,
  parseManifest,
  type ReferrersLister,
} from "../../oci/index.ts";
import { listPage } from "../list-page.ts";
import { deltaBaseOf, describeBase } from "./delta-base.ts";
import { blobPath, type LayoutFiles } from "./layout-files.ts";
import type { LayoutEntry, LayoutIndex } from "./layout-index.ts";

export abstract class LayoutReader implements ImageReader, ReferrersLister {
  abstract readonly description: string;
  protected abstract readonly files: LayoutFiles;
  /** The current index (a directory reloads it when another writer changed it). */
  protected abstract index(): Promise<LayoutIndex>;

  /** Repository of entries named by a bare tag. */
  abstract readonly tagRepository: string;

  /** The entries of index.json, named. */
  async entries(): Promise<readonly LayoutEntry[]> {
    return (await this.index()).entries;
  }

  /** Parsed manifests by digest: content addressed, so never stale. */
  readonly #parsed = new Map<string, ParsedManifest>();

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    if (isDigest(reference)) {
      const content = await this.#manifestByDigest(repository, reference);
      return { mediaType: content.mediaType, digest: content.digest, size: content.bytes.byteLength };
    }
    const index = await this.index();
    const found = index.tags.get(repository)?.get(reference);
    if (!found) {
      if (!index.hasRepository(repository)) {
        throw new OciError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not in ${this.description}`);
      }
      throw new OciError("MANIFEST_UNKNOWN", `${repository}:${reference} is not in ${this.description}`);
    }
    return {
      mediaType: found.mediaType,
      digest: found.digest,
      size: found.size,
      ...(found.artifactType ? { artifactType: found.artifactType } : {}),
    };
  }

  async manifest(repository: string, reference: string): Promise<ManifestContent> {
    if (isDigest(reference)) return this.#manifestByDigest(repository, reference);
    const descriptor = await this.resolve(repository, reference);
    return this.#manifestByDigest(repository, descriptor.digest, descriptor.mediaType);
  }

  async #manifestByDigest(repository: string, digest: Digest, declaredType?: string): Promise<ManifestContent> {
    const file = await this.files.file(blobPath(digest));
    if (!file) throw new OciError("MANIFEST_UNKNOWN", `manifest ${digest} is not in ${this.description}`);
    if (file.size > MANIFEST_SIZE_MAX) {
      throw new OciError("MANIFEST_INVALID", `${digest} in ${this.description} is ${file.size} bytes: too large for a manifest`);
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    const actual = digestOf(bytes);
    if (actual !== digest) {
      throw new OciError("MANIFEST_INVALID", `manifest ${digest} in ${this.description} is corrupt: its bytes hash to ${actual}`, {
        repository,
      });
    }
    const parsed = this.#parse(digest, bytes, declaredType);
    return { digest, mediaType: parsed.mediaType, bytes };
  }

  #parse(digest: Digest, bytes: Uint8Array, declaredType?: string): ParsedManifest {
    let parsed = this.#parsed.get(digest);
    if (!parsed) {
      parsed = parseManifest(bytes, declaredType);
      this.#parsed.set(digest, parsed);
    }
    return parsed;
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    const file = await this.files.file(blobPath(digest));
    if (!file) {
      // A delta bundle leaves some blobs to its base: name the base to sync first.
      const base = deltaBaseOf((await this.index()).document.annotations);
      if (base?.blobs.has(digest)) {
        throw new OciError(
          "BLOB_UNKNOWN",
          `blob ${digest} is not in ${this.description}: this delta bundle leaves it to ${describeBase(base)}; sync that bundle into the destination first`,
          { repository, base: base.index },
        );
      }
      throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in ${this.description}`, { repository });
    }
    return fileContent(digest, file);
  }

  async statBlob(_repository: string, digest: Digest): Promise<number | undefined> {
    return (await this.files.file(blobPath(digest)))?.size;
  }

  async hasManifest(_repository: string, digest: Digest): Promise<boolean> {
    return (await this.files.file(blobPath(digest))) !== undefined;
  }

  async repositories(options?: ListOptions): Promise<string[]> {
    return listPage((await this.index()).repositories(), options);
  }

  async tags(repository: string, options?: ListOptions): Promise<string[]> {
    const index = await this.index();
    if (!index.hasRepository(repository)) {
      throw new OciError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not in ${this.description}`);
    }
    return listPage(index.tags.get(repository)?.keys() ?? [], options);
  }

  /**
   * Referrers are the index entries whose manifest has this subject (where
   * OCI 1.1 layouts and tools like oras keep them).
   */
  async referrers(_repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const index = await this.index();
    const out: Descriptor[] = [];
    const seen = new Set<string>();
    for (const { descriptor } of index.entries) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      const parsed = await this.parsedEntry(descriptor);
      if (!parsed || manifestReferences(parsed).subject?.digest !== subject) continue;
      const type = artifactTypeOf(parsed);
      if (artifactType !== undefined && type !== artifactType) continue;
      const annotations = annotationsOf(parsed);
      out.push({
        mediaType: parsed.mediaType,
        digest: descriptor.digest,
        size: descriptor.size,
        ...(type ? { artifactType: type } : {}),
        ...(annotations ? { annotations } : {}),
      });
    }
    return out;
  }

  /** The parsed manifest of an index entry, or undefined when it is missing or unreadable. */
  protected async parsedEntry(descriptor: Descriptor): Promise<ParsedManifest | undefined> {
    const cached = this.#parsed.get(descriptor.digest);
    if (cached) return cached;
    try {
      const content = await this.#manifestByDigest("", descriptor.digest, descriptor.mediaType);
      return this.#parse(descriptor.digest, content.bytes);
    } catch {
      return undefined;
    }
  }
}

/** A BlobContent over a Blob (a file or a tar slice). */
export function fileContent(digest: Digest, file: Blob): BlobContent {
  const slice = (range?: ByteRange) => (range ? file.slice(range.start, range.end) : file);
  return { digest, size: file.size, stream: (range) => slice(range).stream(), blob: slice };
}
