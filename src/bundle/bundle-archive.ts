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
 * goes straight to its place, written by Bun without passing through
 * JavaScript and hashed there by a worker thread (several at once);
 * blobs the tar being replaced already holds are copied from it at the
 * end. The file is a temporary
 * one beside the output, flushed and renamed over it on success, removed
 * on failure.
 */
import { closeSync } from "node:fs";
import { basename, dirname } from "node:path";
import { ContentMismatchError, type Digest, DigestError, digestOf, isDigest, verifyFile, verifyStream } from "../digest/index.ts";
import {
  type BlobContent,
  type BlobFileWriter,
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
import { forBunWrite, PROGRESS_INTERVAL_MS, removeAbandonedTemps, TempFile } from "../transports/fs/durable-file.ts";
import { openAt, positionOf } from "../transports/fs/positioned-file.ts";
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

export class BundleArchive implements ImageHome, BlobMounter, BlobFileWriter {
  readonly description: string;
  #slots?: Map<Digest, Slot>;
  #contents?: BundleContents;
  readonly #written = new Set<Digest>();
  readonly #flights = new Map<Digest, Promise<void>>();
  /** A body that ran past its place (into the next entry): why the archive cannot be finished. */
  #overrun?: string;
  #flushing?: Promise<void>;
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

  putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    return this.writeBlob(repository, blob, body, () => {});
  }

  /**
   * Bun writes the body straight into its place (a descriptor positioned
   * there), and a worker thread hashes the place: it counts as written
   * only when it matched; a mismatch leaves the place to be filled again,
   * or the run fails. Where files cannot be positioned, the bytes pass
   * through here, hashed as they go.
   */
  async writeBlob(
    _repository: string,
    blob: BlobInput,
    body: ReadableStream<Uint8Array> | Blob,
    onProgress: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const slot = this.#slot(blob.digest, "blob");
    const pending = this.#flights.get(blob.digest);
    if (pending) await pending.catch(() => {});
    if (this.#written.has(blob.digest)) {
      // Verified and in place already: this body is not needed.
      if (!(body instanceof Blob)) await body.cancel().catch(() => {});
      return;
    }
    const flight = this.#receive(slot, blob.digest, body, onProgress, signal).then(() => {
      this.#written.add(blob.digest);
      this.#flushSoon();
    });
    this.#flights.set(blob.digest, flight);
    try {
      await flight;
    } finally {
      this.#flights.delete(blob.digest);
    }
  }

  async #receive(slot: Slot, digest: Digest, body: ReadableStream<Uint8Array> | Blob, onProgress: (bytes: number) => void, signal?: AbortSignal): Promise<void> {
    if (body instanceof Blob && body.size !== slot.size) throw new ContentMismatchError("size", String(slot.size), String(body.size));
    signal?.throwIfAborted();
    const fd = await openAt(this.#out.temp, slot.offset);
    if (fd === undefined) {
      const stream = (body instanceof Blob ? body.stream() : body).pipeThrough(verifyStream({ digest, size: slot.size }));
      return this.#fill(slot, stream, onProgress);
    }
    let reported = 0;
    const report = () => {
      const done = Math.min(positionOf(fd) - slot.offset, slot.size);
      if (done > reported) onProgress(done - reported);
      reported = Math.max(reported, done);
    };
    const timer = setInterval(report, PROGRESS_INTERVAL_MS);
    let written: number;
    try {
      const input = await forBunWrite(body);
      written = await (input instanceof Blob ? Bun.write(Bun.file(fd), input) : Bun.write(Bun.file(fd), input));
      report();
    } finally {
      clearInterval(timer);
      closeSync(fd);
    }
    if (written > slot.size) {
      // It ran into the next entry: this archive cannot be finished.
      this.#overrun ??= `${digest} came with more than its ${slot.size} bytes`;
      throw new ContentMismatchError("size", String(slot.size), `more than ${slot.size}`);
    }
    signal?.throwIfAborted();
    await verifyFile(this.#out.temp, { digest, size: slot.size }, { start: slot.offset });
  }

  /**
   * Start writing what is in place to disk (at most one flush at a time),
   * so that the final flush before the rename finds little left to do.
   */
  #flushSoon(): void {
    if (this.#flushing) return;
    this.#flushing = this.#out.handle
      .sync()
      .catch(() => {})
      .finally(() => {
        this.#flushing = undefined;
      });
  }

  /** Write a verified stream into its place; the stream fails (and nothing counts as written) on a mismatch. */
  async #fill(slot: Slot, stream: ReadableStream<Uint8Array>, onProgress?: (bytes: number) => void): Promise<void> {
    let at = slot.offset;
    for await (const chunk of stream) {
      await this.#out.write(chunk, at);
      at += chunk.byteLength;
      onProgress?.(chunk.byteLength);
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
    if (this.#overrun) throw new BundleError(`${this.description}: ${this.#overrun}`);
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
    await this.#flushing;
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
