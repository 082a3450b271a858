/**
 * A bundle tar written in place as the copy runs: the copy engine's
 * destination when the output is a file.
 *
 * Once the plan is known, so is the whole archive: which blobs, their
 * sizes, the documents. Entries go in this order, at offsets fixed up front:
 *
 *   oci-layout, index.json, manifest.json (when any image is docker-loadable),
 *   blobs/, blobs/<alg>/, blobs/<alg>/<encoded> (sorted by path), two zero blocks
 *
 * with the headers transports' TarWriter writes (mtime 0, owner 0:0, modes
 * 0644/0755): the same content gives the same bytes, whatever order blobs
 * arrive in. Every header and document is written first; each blob then
 * streams straight to its place (verified as it passes, several at once,
 * nothing staged); blobs the tar being replaced already holds are copied
 * from it at the end. The file is a temporary one beside the output,
 * flushed and renamed over it on success, removed on failure.
 */
import { basename, dirname } from "node:path";
import { type Digest, DigestError, digestOf, isDigest, verifyStream } from "../digest/index.ts";
import {
  type BlobContent,
  type BlobInput,
  type BlobMounter,
  type Descriptor,
  type ImageHome,
  type ManifestContent,
  manifestReferences,
  OciError,
  parseManifest,
} from "../oci/index.ts";
import { entryHeader } from "../transports/index.ts";
import { removeAbandonedTemps, TempFile } from "../transports/fs/durable-file.ts";
import type { BaseLayer } from "./base-bundle.ts";
import type { BundleContents } from "./bundle-contents.ts";
import type { BundleFiles } from "./bundle-files.ts";
import { BundleError } from "./errors.ts";
import { blobPath, compare, OCI_LAYOUT_BYTES } from "./layout-documents.ts";

const BLOCK = 512;
const describe = (error: unknown) => (error instanceof DigestError ? error.describe() : (error as Error).message);
const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface ArchiveOptions {
  /** The tar being replaced: its blobs are copied, not fetched. */
  reuse?: BundleFiles;
  /** Layers of a delta's base and the repositories that have them (see bundle-staging.ts). */
  base?: ReadonlyMap<Digest, BaseLayer>;
  forcePull?: boolean;
}

interface Slot {
  offset: number;
  size: number;
}

export class BundleArchive implements ImageHome, BlobMounter {
  readonly description: string;
  #slots?: Map<Digest, Slot>;
  #contents?: BundleContents;
  readonly #written = new Set<Digest>();
  readonly #flights = new Map<Digest, Promise<void>>();
  readonly #out: TempFile;

  private constructor(
    out: TempFile,
    readonly options: ArchiveOptions,
  ) {
    this.#out = out;
    this.description = `oci-archive:${out.path}`;
  }

  static async create(path: string, options: ArchiveOptions = {}): Promise<BundleArchive> {
    // A run killed before its rename left its whole half-written tar here.
    await removeAbandonedTemps(dirname(path), basename(path));
    return new BundleArchive(await TempFile.create(path), options);
  }

  /** Lay the archive out: every header and document in place, blobs' places reserved. */
  async prepare(contents: BundleContents): Promise<void> {
    const chunks: { at: number; bytes: Uint8Array }[] = [];
    let position = 0;
    const entry = (name: string, size: number, typeflag: "0" | "5", bytes?: Uint8Array): number => {
      const header = entryHeader({ name, size, typeflag, mode: typeflag === "5" ? 0o755 : 0o644, mtime: 0 });
      chunks.push({ at: position, bytes: header });
      const data = position + header.byteLength;
      if (bytes) chunks.push({ at: data, bytes });
      position = data + size + padding(size);
      return data;
    };
    entry("oci-layout", OCI_LAYOUT_BYTES.byteLength, "0", OCI_LAYOUT_BYTES);
    entry("index.json", contents.index.byteLength, "0", contents.index);
    if (contents.manifestJson) entry("manifest.json", contents.manifestJson.byteLength, "0", contents.manifestJson);
    entry("blobs/", 0, "5");
    const slots = new Map<Digest, Slot>();
    let directory = "";
    const blobs = [...contents.content].map(([digest, size]) => ({ digest, size, path: blobPath(digest) })).sort((a, b) => compare(a.path, b.path));
    for (const blob of blobs) {
      const dir = blob.path.slice(0, blob.path.lastIndexOf("/"));
      if (dir !== directory) entry(`${(directory = dir)}/`, 0, "5");
      slots.set(blob.digest, { offset: entry(blob.path, blob.size, "0"), size: blob.size });
    }
    // Two zero blocks end the archive; the reserved places read as zeros until filled.
    await this.#out.handle.truncate(position + 2 * BLOCK);
    for (const chunk of chunks) await this.#out.write(chunk.bytes, chunk.at);
    this.#slots = slots;
    this.#contents = contents;
  }

  #slot(digest: Digest, what: string): Slot {
    if (!this.#slots) throw new BundleError(`${this.description}: ${what} ${digest} arrived before the archive was laid out`);
    const slot = this.#slots.get(digest);
    if (!slot) throw new OciError("BLOB_UNKNOWN", `${what} ${digest} is not part of this bundle`);
    return slot;
  }

  #reusable(digest: Digest): Promise<Blob | undefined> {
    return this.options.forcePull || !this.options.reuse ? Promise.resolve(undefined) : this.options.reuse.file(blobPath(digest));
  }

  async statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    const base = this.options.base?.get(digest);
    if (base?.repositories.has(repository)) return base.size;
    if (this.#written.has(digest)) return this.#slots?.get(digest)?.size;
    return (await this.#reusable(digest))?.size;
  }

  async hasManifest(_repository: string, digest: Digest): Promise<boolean> {
    return this.#written.has(digest) || (await this.#reusable(digest)) !== undefined;
  }

  async mountBlob(_repository: string, from: string | undefined, digest: Digest): Promise<boolean> {
    if (from !== undefined && this.options.base?.get(digest)?.repositories.has(from)) return true;
    if (this.#written.has(digest)) return true;
    return (await this.#reusable(digest)) !== undefined;
  }

  async putBlob(_repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    const slot = this.#slot(blob.digest, "blob");
    const source = body instanceof Blob ? body.stream() : body;
    const pending = this.#flights.get(blob.digest);
    if (pending) await pending.catch(() => {});
    if (this.#written.has(blob.digest)) {
      // Verified and in place already: this body is not needed.
      await source.cancel().catch(() => {});
      return;
    }
    const stream = source.pipeThrough(verifyStream({ digest: blob.digest, size: slot.size }));
    const flight = this.#fill(slot, stream).then(() => void this.#written.add(blob.digest));
    this.#flights.set(blob.digest, flight);
    try {
      await flight;
    } finally {
      this.#flights.delete(blob.digest);
    }
  }

  /** Write a verified stream into its place; the stream fails (and nothing counts as written) on a mismatch. */
  async #fill(slot: Slot, stream: ReadableStream<Uint8Array>): Promise<void> {
    let at = slot.offset;
    for await (const chunk of stream) {
      await this.#out.write(chunk, at);
      at += chunk.byteLength;
    }
  }

  async putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    const parsed = parseManifest(content.bytes, content.mediaType);
    const digest = digestOf(content.bytes);
    if (isDigest(reference) && reference !== digest) throw new OciError("DIGEST_INVALID", `manifest bytes hash to ${digest}, not ${reference}`);
    const slot = this.#slot(digest, "manifest");
    if (this.#written.has(digest)) return digest;
    const refs = manifestReferences(parsed);
    for (const needed of [...refs.blobs, ...refs.manifests]) {
      const there =
        this.#written.has(needed.digest) ||
        this.#contents?.omitted.has(needed.digest) ||
        (await this.#reusable(needed.digest)) !== undefined;
      if (!there) {
        throw new OciError("MANIFEST_BLOB_UNKNOWN", `${this.description}: manifest ${digest} for ${repository} references ${needed.digest}, which is not in the bundle yet`);
      }
    }
    if (content.bytes.byteLength !== slot.size) throw new OciError("SIZE_INVALID", `manifest ${digest} is ${content.bytes.byteLength} bytes, not ${slot.size}`);
    await this.#out.write(content.bytes, slot.offset);
    this.#written.add(digest);
    return digest;
  }

  /** Copy what the replaced tar holds, check every place is filled, then put the archive in place. */
  async finish(): Promise<void> {
    if (!this.#slots) throw new BundleError(`${this.description}: nothing was laid out`);
    for (const [digest, slot] of this.#slots) {
      if (this.#written.has(digest)) continue;
      const file = await this.#reusable(digest);
      if (!file) throw new BundleError(`${this.description}: ${digest} was not fetched`);
      try {
        await this.#fill(slot, file.stream().pipeThrough(verifyStream({ digest, size: slot.size })));
      } catch (error) {
        throw new BundleError(
          `${blobPath(digest)} in ${this.options.reuse!.path}, the bundle being replaced, is damaged (${describe(error)}); run again with --force-pull`,
        );
      }
      this.#written.add(digest);
    }
    await this.#out.commit();
  }

  /** Give up: the output stays as it was. */
  abort(): Promise<void> {
    return this.#out.discard();
  }

  // Reads: the archive is write-only while it is built; the copy engine reads only what is above.
  async resolve(repository: string, reference: string): Promise<Descriptor> {
    throw new OciError("MANIFEST_UNKNOWN", `${repository}:${reference} is not in ${this.description} (a bundle being written has no tags)`);
  }

  async manifest(_repository: string, reference: string): Promise<ManifestContent> {
    throw new OciError("MANIFEST_UNKNOWN", `${reference} is not readable from ${this.description} while it is written`);
  }

  async blob(_repository: string, digest: Digest): Promise<BlobContent> {
    throw new OciError("BLOB_UNKNOWN", `${digest} is not readable from ${this.description} while it is written`);
  }

  async repositories(): Promise<string[]> {
    return [];
  }

  async tags(repository: string): Promise<string[]> {
    throw new OciError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not in ${this.description}`);
  }
}
