/**
 * The embedded store: blobs through a BlobDriver, metadata in SQL, one
 * image home on top. Order is always blob first, metadata second: bytes
 * are verified and durably committed before the row that makes them
 * visible, so a crash at any instant leaves at worst bytes no row names
 * (an abandoned upload, or a blob gc sweeps after its grace window).
 */
import { randomUUID } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import {
  ContentMismatchError,
  type Digest,
  DigestError,
  DigestHasher,
  digestOf,
  parseDigest,
  type RegisteredAlgorithm,
  verifiableAlgorithm,
  verifyStream,
} from "../digest/index.ts";
import {
  annotationsOf,
  artifactTypeOf,
  type BlobContent,
  type BlobInput,
  type BlobMounter,
  type Closable,
  type ContentDeleter,
  type Descriptor,
  type ImageHome,
  type ListOptions,
  type ManifestContent,
  manifestReferences,
  OciError,
  parseManifest,
  type ReferrersLister,
} from "../oci/index.ts";
import { NAME_TOTAL_LENGTH_MAX, patterns } from "../reference/index.ts";
import type { BlobDriver } from "./blob-driver.ts";
import type { BlobUrls } from "./blob-urls.ts";
import { canPresign, canStageFiles, canSweep, canWriteDirect, type FileStager } from "./driver-capabilities.ts";
import { FilesystemDriver } from "./fs-driver.ts";
import { type BlobRow, type ManifestRow, Metadata } from "./metadata.ts";
import { databasePath, isUploadId } from "./paths.ts";
import { DatabaseUploadLocks, ProcessUploadLocks, type UploadLocks } from "./upload-locks.ts";
import type { ChunkBounds, UploadSessions, UploadStatus } from "./upload-sessions.ts";

export interface StoreOptions {
  /**
   * The store directory (blobs, uploads, and the SQLite file by default).
   * Not needed when both the database and the driver are given.
   */
  root?: string;
  /** Metadata database: `sqlite://…` or `postgres://…`. Default: the SQLite file `<root>/metadata.db`. */
  databaseUrl?: string;
  /**
   * Where blob bytes live. Default: the filesystem under `root`. A function
   * builds the driver once the metadata database is open (drivers that
   * keep state there, as the S3 driver does).
   */
  driver?: BlobDriver | ((metadata: Metadata) => BlobDriver | Promise<BlobDriver>);
  /**
   * How one writer per upload session is ensured: in this process, or by
   * a lease in the database when several processes share the store.
   * Default: "database" on PostgreSQL, "process" on SQLite.
   */
  uploadLocks?: "process" | "database";
}

/** Big enough to mean "all" on both SQLite and PostgreSQL (an int4 LIMIT). */
const NO_LIMIT = 2_147_483_647;

/** sendBlob reports progress in steps of at least this much (and the rest at the end). */
const PROGRESS_STEP = 4 * 1024 * 1024;

export class Store implements ImageHome, BlobMounter, ReferrersLister, ContentDeleter, Closable, UploadSessions, BlobUrls {
  readonly description: string;
  /** Hash state of open upload sessions, over exactly the bytes committed so far. */
  readonly #hashers = new Map<string, DigestHasher>();
  /** One writer per upload session (upload-locks.ts). */
  readonly #locks: UploadLocks;

  private constructor(
    readonly root: string | undefined,
    readonly driver: BlobDriver,
    readonly metadata: Metadata,
    locks: "process" | "database",
  ) {
    this.description = `store:${root ?? driver.description}`;
    this.#locks = locks === "database" ? new DatabaseUploadLocks(metadata.database) : new ProcessUploadLocks();
  }

  static async open(options: StoreOptions): Promise<Store> {
    const { root } = options;
    if (root === undefined && !(options.databaseUrl && options.driver)) {
      throw new Error("a store needs a root directory unless both its database URL and its blob driver are given");
    }
    if (root !== undefined) await mkdir(root, { recursive: true });
    const sqliteFile = options.databaseUrl?.match(/^(?:sqlite:(?:\/\/)?|file:)(.+)$/)?.[1];
    if (sqliteFile !== undefined && sqliteFile !== ":memory:") await mkdir(dirname(sqliteFile), { recursive: true });
    const metadata = await Metadata.open(options.databaseUrl ? { url: options.databaseUrl } : { sqliteFile: databasePath(root!) });
    let driver: BlobDriver;
    try {
      driver =
        typeof options.driver === "function" ? await options.driver(metadata) : (options.driver ?? (await FilesystemDriver.open(root!)));
    } catch (error) {
      await metadata.close();
      throw error;
    }
    const locks = options.uploadLocks ?? (metadata.dialect.name === "postgres" ? "database" : "process");
    return new Store(root, driver, metadata, locks);
  }

  get chunkMinLength(): number {
    return this.driver.chunkMinLength;
  }

  async close(): Promise<void> {
    await this.metadata.close();
  }

  // --- reading --------------------------------------------------------------

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const row = await this.#manifestRow(repository, reference, false);
    return { mediaType: row.mediaType, digest: row.digest, size: row.size };
  }

  async manifest(repository: string, reference: string): Promise<ManifestContent> {
    const row = await this.#manifestRow(repository, reference, true);
    return { digest: row.digest, mediaType: row.mediaType, bytes: row.content! };
  }

  async #manifestRow(repository: string, reference: string, withContent: boolean): Promise<ManifestRow & { content?: Uint8Array }> {
    checkRepository(repository);
    const digest = referenceDigest(reference);
    let row;
    if (digest) {
      row = withContent ? await this.metadata.manifest(repository, digest) : await this.metadata.manifestDescriptor(repository, digest);
    } else {
      checkTag(reference);
      row = withContent
        ? await this.metadata.taggedManifest(repository, reference)
        : await this.metadata.taggedManifestDescriptor(repository, reference);
    }
    if (row) return row;
    if (!(await this.metadata.repositoryExists(repository))) {
      throw new OciError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not known to this registry`);
    }
    throw new OciError("MANIFEST_UNKNOWN", `manifest ${JSON.stringify(reference)} is not in repository ${JSON.stringify(repository)}`);
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    const size = await this.statBlob(repository, digest);
    if (size === undefined) throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${JSON.stringify(repository)}`);
    return this.driver.open(digest, size);
  }

  async blobUrl(repository: string, digest: Digest, expiresIn = 600): Promise<string | undefined> {
    const size = await this.statBlob(repository, digest);
    if (size === undefined) throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${JSON.stringify(repository)}`);
    return canPresign(this.driver) ? this.driver.presignBlob(digest, expiresIn) : undefined;
  }

  async statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    checkRepository(repository);
    return this.metadata.linkedBlobSize(repository, digest);
  }

  async hasManifest(repository: string, digest: Digest): Promise<boolean> {
    checkRepository(repository);
    return (await this.metadata.manifestDescriptor(repository, digest)) !== undefined;
  }

  async repositories(options: ListOptions = {}): Promise<string[]> {
    return this.metadata.repositories(listAfter(options.last), options.limit ?? NO_LIMIT);
  }

  async tags(repository: string, options: ListOptions = {}): Promise<string[]> {
    checkRepository(repository);
    const tags = await this.metadata.tags(repository, listAfter(options.last), options.limit ?? NO_LIMIT);
    if (tags.length === 0 && !(await this.metadata.repositoryExists(repository))) {
      throw new OciError("NAME_UNKNOWN", `repository ${JSON.stringify(repository)} is not known to this registry`);
    }
    return tags;
  }

  async referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    checkRepository(repository);
    // No media type holds a NUL (PostgreSQL refuses one in text): nothing matches.
    if (artifactType?.includes("\0")) return [];
    const rows = await this.metadata.referrers(repository, subject, artifactType);
    return rows.map((r) => ({
      mediaType: r.mediaType,
      digest: r.digest,
      size: r.size,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
      ...(r.annotations ? { annotations: r.annotations } : {}),
    }));
  }

  // --- writing blobs --------------------------------------------------------

  async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    if (body instanceof Blob) return this.sendBlob(repository, blob, body, () => undefined);
    checkRepository(repository);
    checkVerifiable(blob.digest);
    await this.#storeVerified(repository, blob.digest, body.pipeThrough(verifyStream({ digest: blob.digest, size: blob.size })));
  }

  /**
   * Store a file body (a Blob: a layout's file, a slice of an archive),
   * reporting bytes as they are written. A driver that stages files
   * itself reads the body in pieces through one buffer, without a stream
   * (an import's memory no longer grows by a stream's chunks per
   * transfer); others read it as a stream. Verified as in putBlob; an
   * abort of `signal` stops it between pieces, and nothing is stored.
   */
  async sendBlob(repository: string, blob: BlobInput, body: Blob, onProgress: (bytes: number) => void, signal?: AbortSignal): Promise<void> {
    checkRepository(repository);
    checkVerifiable(blob.digest);
    if (canStageFiles(this.driver) && !(await this.#stored(blob.digest))) {
      return this.#storeFile(repository, blob, body, this.driver, onProgress, signal);
    }
    const counted = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        if (signal?.aborted) return controller.error(signal.reason);
        controller.enqueue(chunk);
        onProgress(chunk.byteLength);
      },
    });
    const verified = body.stream().pipeThrough(verifyStream({ digest: blob.digest, size: blob.size })).pipeThrough(counted);
    await this.#storeVerified(repository, blob.digest, verified);
  }

  /** Stage a file body through the driver, hashing the pieces as they pass; then commit as any blob. */
  async #storeFile(
    repository: string,
    blob: BlobInput,
    body: Blob,
    driver: FileStager,
    onProgress: (bytes: number) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { digest } = blob;
    // A Blob knows its size: a wrong one is refused before a byte is read.
    if (blob.size !== undefined && body.size !== blob.size) {
      throw storageError(new ContentMismatchError("size", String(blob.size), String(body.size)));
    }
    const hasher = DigestHasher.for(digest);
    const id = randomUUID();
    let unreported = 0;
    let size: number;
    try {
      size = await driver.stageFile(id, body, (piece) => {
        signal?.throwIfAborted();
        hasher.update(piece);
        unreported += piece.byteLength;
        if (unreported >= PROGRESS_STEP) {
          onProgress(unreported);
          unreported = 0;
        }
      });
      if (unreported > 0) onProgress(unreported);
      if (size !== body.size) throw new ContentMismatchError("size", String(body.size), String(size));
      const actual = hasher.digest();
      if (actual !== digest) throw new ContentMismatchError("digest", digest, actual);
    } catch (error) {
      await this.driver.deleteStaged(id).catch(() => undefined);
      throw storageError(error);
    }
    await this.#commitBlob(repository, id, digest, size);
  }

  /** The store has the blob: its row and its bytes. */
  async #stored(digest: Digest): Promise<boolean> {
    return (await this.metadata.blobSize(digest)) !== undefined && (await this.driver.stat(digest)) !== undefined;
  }

  /**
   * Store a blob from a stream that verifies itself (it fails at its end
   * when digest or size do not match), finishing upload `uploadId` if given.
   */
  async #storeVerified(repository: string, digest: Digest, verified: ReadableStream<Uint8Array>, uploadId?: string): Promise<void> {
    if (await this.#stored(digest)) {
      // The store has these bytes: check the client's copy, keep ours.
      await drain(verified).catch((error) => {
        throw storageError(error);
      });
      if (await this.metadata.linkStoredBlob(repository, digest, () => this.#present(digest), uploadId)) return;
      // gc removed the blob while the client's copy streamed past: the bytes are gone, the client sends them again.
      throw new OciError("UNAVAILABLE", `blob ${digest} was removed by garbage collection during the upload; upload it again`, undefined, 503);
    }
    if (canWriteDirect(this.driver)) {
      // Straight to its final place, visible there only once the stream ended verified.
      let size: number;
      try {
        size = await this.driver.writeBlob(digest, verified);
      } catch (error) {
        throw storageError(error);
      }
      if (!(await this.metadata.recordBlob(repository, digest, size, () => this.#present(digest), uploadId))) {
        if (uploadId !== undefined) await this.metadata.deleteUpload(uploadId);
        throw new OciError("UNAVAILABLE", `blob ${digest} was removed by garbage collection while it was stored; upload it again`, undefined, 503);
      }
      return;
    }
    const id = randomUUID();
    await this.driver.createStaged(id);
    let size: number;
    try {
      size = await this.driver.writeStaged(id, 0, verified);
    } catch (error) {
      await this.driver.deleteStaged(id).catch(() => undefined);
      throw storageError(error);
    }
    await this.#commitBlob(repository, id, digest, size, uploadId);
  }

  /**
   * Make verified staged bytes the blob `digest`, linked into `repository`
   * (and finish upload `uploadId`, if given). Against a concurrent gc:
   * linking what the store has, or recording what was just placed, happens
   * under the blob's lock and only while its bytes are there (see
   * sql-locks.ts); the staged copy is dropped only after that.
   */
  async #commitBlob(repository: string, stagedId: string, digest: Digest, size: number, uploadId?: string): Promise<void> {
    try {
      if (!(await this.metadata.linkStoredBlob(repository, digest, () => this.#present(digest), uploadId))) {
        // New to the store (or removed by gc a moment ago): place the bytes, then record them.
        await this.driver.commitStaged(stagedId, digest, size);
        if (!(await this.metadata.recordBlob(repository, digest, size, () => this.#present(digest), uploadId))) {
          // Only when gc removed bytes it found without a row at the very instant they were committed.
          if (uploadId !== undefined) await this.metadata.deleteUpload(uploadId);
          throw new OciError("UNAVAILABLE", `blob ${digest} was removed by garbage collection while it was stored; upload it again`, undefined, 503);
        }
      }
    } catch (error) {
      if (uploadId === undefined) await this.driver.deleteStaged(stagedId).catch(() => undefined);
      throw storageError(error);
    }
    await this.driver.deleteStaged(stagedId).catch(() => undefined);
  }

  async #present(digest: Digest): Promise<boolean> {
    return (await this.driver.stat(digest)) !== undefined;
  }

  async mountBlob(repository: string, fromRepository: string | undefined, digest: Digest): Promise<boolean> {
    checkRepository(repository);
    if (fromRepository !== undefined) {
      checkRepository(fromRepository);
      if (!(await this.metadata.blobInRepository(fromRepository, digest))) return false;
    }
    // Linked again even when linked already: a fresh link restarts gc's grace window.
    return this.metadata.linkExistingBlob(repository, digest);
  }

  // --- upload sessions ------------------------------------------------------

  async startUpload(repository: string): Promise<UploadStatus> {
    checkRepository(repository);
    const id = randomUUID();
    // Bytes first: a session row never points at a missing file.
    await this.driver.createStaged(id);
    await this.metadata.createUpload(id, repository);
    this.#hashers.set(id, new DigestHasher("sha256"));
    return { id, offset: 0 };
  }

  async uploadStatus(repository: string, id: string): Promise<UploadStatus> {
    const session = await this.#session(repository, id);
    return { id, offset: session.size };
  }

  async appendUpload(
    repository: string,
    id: string,
    body: ReadableStream<Uint8Array>,
    bounds: ChunkBounds = {},
  ): Promise<UploadStatus> {
    return this.#locks.exclusive(id, async () => {
      const session = await this.#session(repository, id);
      checkStart(bounds, session.size);
      const written = await this.#append(id, session.size, body, bounds.length);
      return { id, offset: session.size + written };
    });
  }

  async finishUpload(
    repository: string,
    id: string,
    digest: Digest,
    body?: ReadableStream<Uint8Array>,
    bounds: ChunkBounds = {},
  ): Promise<void> {
    await this.#locks.exclusive(id, async () => {
      const session = await this.#session(repository, id);
      const algorithm = checkVerifiable(digest);
      let size = session.size;
      if (body && size === 0 && canWriteDirect(this.driver)) {
        // The whole blob in this request: no staging, it goes where it will live.
        checkStart(bounds, 0);
        this.#hashers.delete(id);
        const verified = body.pipeThrough(verifyStream({ digest, ...(bounds.length === undefined ? {} : { size: bounds.length }) }));
        try {
          await this.#storeVerified(repository, digest, verified, id);
        } catch (error) {
          if (OciError.is(error, "DIGEST_INVALID")) await this.metadata.deleteUpload(id);
          throw error;
        }
        await this.driver.deleteStaged(id).catch(() => undefined);
        return;
      }
      if (body) {
        checkStart(bounds, size);
        size += await this.#append(id, size, body, bounds.length);
      }
      let hasher = this.#hashers.get(id);
      if (!hasher || hasher.size !== size || hasher.algorithm !== algorithm) hasher = await this.#rehash(id, size, algorithm);
      const actual = hasher.digest();
      this.#hashers.delete(id);
      if (actual !== digest) {
        // The bytes can never become this blob; nothing of them stays.
        await this.metadata.deleteUpload(id);
        await this.driver.deleteStaged(id);
        throw new OciError("DIGEST_INVALID", `uploaded content hashes to ${actual}, not ${digest}`, { expected: digest, actual });
      }
      await this.#commitBlob(repository, id, digest, size, id);
    });
  }

  async cancelUpload(repository: string, id: string): Promise<void> {
    await this.#locks.exclusive(id, async () => {
      await this.#session(repository, id);
      await this.metadata.deleteUpload(id);
      await this.driver.deleteStaged(id);
      this.#hashers.delete(id);
    });
  }

  /**
   * Remove upload sessions idle for longer than `maxAgeMs`, and staged
   * bytes no session owns (left by a crash) that are as old. Returns how
   * many were removed.
   */
  async sweepUploads(maxAgeMs: number, now = Date.now()): Promise<number> {
    const before = now - maxAgeMs;
    let removed = 0;
    for (const id of await this.metadata.staleUploads(before)) {
      // As its one writer (another process may be writing it), and only if it is still idle.
      const swept = await this.#locks
        .exclusive(id, async () => {
          const session = await this.metadata.upload(id);
          if (!session || session.updated >= before) return false;
          await this.metadata.deleteUpload(id);
          await this.driver.deleteStaged(id);
          this.#hashers.delete(id);
          return true;
        })
        .catch((error) => {
          if (OciError.is(error, "RANGE_INVALID")) return false;
          throw error;
        });
      if (swept) removed++;
    }
    for await (const staged of this.driver.listStaged()) {
      if (staged.modified >= before || this.#locks.busy(staged.id)) continue;
      if (await this.metadata.uploadExists(staged.id)) continue;
      await this.driver.deleteStaged(staged.id);
      removed++;
    }
    if (canSweep(this.driver)) removed += await this.driver.sweep(before);
    await this.#locks.sweep(now);
    // Hash state of sessions another process finished or dropped.
    for (const id of this.#hashers.keys()) {
      if (!this.#locks.busy(id) && !(await this.metadata.uploadExists(id))) this.#hashers.delete(id);
    }
    return removed;
  }

  async #session(repository: string, id: string) {
    checkRepository(repository);
    const session = isUploadId(id) ? await this.metadata.upload(id) : undefined;
    if (!session || session.repository !== repository) {
      throw new OciError("BLOB_UPLOAD_UNKNOWN", `upload ${JSON.stringify(id)} is not in progress for repository ${JSON.stringify(repository)}`);
    }
    return session;
  }

  /**
   * Write one chunk at `offset`, hashing it as it passes; all or nothing.
   * Returns its length. Without the hash state of the bytes before it
   * (they were written by another process, or before a restart) the
   * chunk is only counted, and finishing reads the upload back once.
   */
  async #append(id: string, offset: number, body: ReadableStream<Uint8Array>, length?: number): Promise<number> {
    const known = this.#hashers.get(id);
    this.#hashers.delete(id);
    const hasher = known && known.size === offset && known.algorithm === "sha256" ? known : undefined;
    const tap = hashingTap(hasher, length);
    let written: number;
    try {
      written = await this.driver.writeStaged(id, offset, body.pipeThrough(tap));
    } catch (error) {
      throw storageError(error);
    }
    if (!(await this.metadata.advanceUpload(id, offset, offset + written))) {
      throw new OciError("RANGE_INVALID", `upload ${id} was moved by another writer`);
    }
    if (hasher) this.#hashers.set(id, hasher);
    return written;
  }

  async #rehash(id: string, length: number, algorithm: RegisteredAlgorithm): Promise<DigestHasher> {
    const hasher = new DigestHasher(algorithm);
    for await (const chunk of this.driver.readStaged(id, length)) hasher.update(chunk);
    if (hasher.size !== length) throw new Error(`upload ${id} has ${hasher.size} bytes on disk, expected ${length}`);
    return hasher;
  }

  // --- manifests ------------------------------------------------------------

  async putManifest(
    repository: string,
    reference: string,
    content: { bytes: Uint8Array; mediaType: string },
    options: { tags?: string[] } = {},
  ): Promise<Digest> {
    checkRepository(repository);
    const parsed = parseManifest(content.bytes, content.mediaType);
    const tags = [...(options.tags ?? [])];
    let digest: Digest;
    const asDigest = referenceDigest(reference);
    if (asDigest) {
      const actual = digestOf(content.bytes, checkVerifiable(asDigest));
      if (actual !== asDigest) {
        throw new OciError("DIGEST_INVALID", `manifest hashes to ${actual}, not ${asDigest}`, { expected: asDigest, actual });
      }
      digest = asDigest;
    } else {
      checkTag(reference);
      digest = digestOf(content.bytes);
      tags.unshift(reference);
    }
    for (const tag of tags) checkTag(tag);

    const refs = manifestReferences(parsed);
    const blobDigests = refs.blobs.map((d) => d.digest);
    const sizes = await this.metadata.linkedBlobSizes(repository, blobDigests);
    const missing: Digest[] = blobDigests.filter((d) => !sizes.has(d));
    const childDigests = refs.manifests.map((d) => d.digest);
    const present = await this.metadata.presentManifests(repository, childDigests);
    missing.push(...childDigests.filter((d) => !present.has(d)));
    if (missing.length > 0) throw missingReferences(repository, missing);
    for (const d of refs.blobs) {
      const stored = sizes.get(d.digest);
      if (stored !== undefined && stored !== d.size) {
        throw new OciError("MANIFEST_INVALID", `descriptor of ${d.digest} says ${d.size} bytes; the blob has ${stored}`);
      }
    }
    const artifactType = artifactTypeOf(parsed);
    const annotations = annotationsOf(parsed);
    const removed = await this.metadata.putManifest(
      repository,
      {
        digest,
        mediaType: parsed.mediaType,
        size: content.bytes.byteLength,
        ...(artifactType ? { artifactType } : {}),
        ...(refs.subject ? { subject: refs.subject.digest } : {}),
        ...(annotations ? { annotations } : {}),
        content: content.bytes,
      },
      { blobs: blobDigests, manifests: childDigests },
      tags,
    );
    // Removed by gc since the check above: the client pushes them again.
    if (removed.length > 0) throw missingReferences(repository, removed);
    return digest;
  }

  // --- deleting -------------------------------------------------------------

  async deleteManifest(repository: string, digest: Digest): Promise<void> {
    checkRepository(repository);
    if (!(await this.metadata.deleteManifest(repository, digest))) {
      throw new OciError("MANIFEST_UNKNOWN", `manifest ${digest} is not in repository ${JSON.stringify(repository)}`);
    }
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    checkRepository(repository);
    checkTag(tag);
    if (!(await this.metadata.deleteTag(repository, tag))) {
      throw new OciError("MANIFEST_UNKNOWN", `tag ${JSON.stringify(tag)} is not in repository ${JSON.stringify(repository)}`);
    }
  }

  /** Unlink a blob from a repository. The bytes stay until gc finds nothing else uses them. */
  async deleteBlob(repository: string, digest: Digest): Promise<void> {
    checkRepository(repository);
    if (!(await this.metadata.unlinkBlob(repository, digest))) {
      throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in repository ${JSON.stringify(repository)}`);
    }
  }

  // --- for gc and fsck ------------------------------------------------------

  /** Every manifest of every repository (without bytes), in (repository, digest) order. */
  async *allManifests(pageSize = 1000): AsyncIterable<ManifestRow & { repository: string }> {
    let after: { repository: string; digest: string } | undefined;
    for (;;) {
      const page = await this.metadata.listManifests(after, pageSize);
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < pageSize) return;
      after = { repository: last.repository, digest: last.digest };
    }
  }

  /** Every recorded blob, in digest order. */
  async *allBlobs(pageSize = 1000): AsyncIterable<BlobRow> {
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.listBlobs(after, pageSize);
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < pageSize) return;
      after = last.digest;
    }
  }

  /**
   * Delete a blob that no manifest references and that was recorded more
   * than `graceMs` ago: its links and row first, then its bytes. Returns
   * true when it was deleted.
   */
  async deleteBlobIfUnreferenced(digest: Digest, graceMs: number, now = Date.now()): Promise<boolean> {
    return (await this.metadata.forgetBlob(digest, now - graceMs, () => this.driver.delete(digest))) !== undefined;
  }
}

/** 400, as distribution answers: the manifest is well-formed, the push is incomplete. */
function missingReferences(repository: string, missing: Digest[]): OciError {
  return new OciError(
    "MANIFEST_BLOB_UNKNOWN",
    `manifest references ${missing.length === 1 ? "a blob or manifest" : `${missing.length} blobs or manifests`} not in repository ${JSON.stringify(repository)}: ${missing.slice(0, 3).join(", ")}`,
    { missing: [...new Set(missing)] },
    400,
  );
}

/**
 * Repository names as the reference grammar allows them (≤ 255). A domain
 * part is allowed, so images copied in keep their full names
 * (`docker.io/acme/app`); the registry's URLs carry only path components.
 */
export function checkRepository(name: string): void {
  if (name.length > NAME_TOTAL_LENGTH_MAX || !patterns.ANCHORED_NAME.test(name)) {
    throw new OciError("NAME_INVALID", `invalid repository name ${JSON.stringify(name.slice(0, 300))}`, { name: name.slice(0, 300) });
  }
}

function checkTag(tag: string): void {
  if (!patterns.ANCHORED_TAG.test(tag)) {
    throw new OciError("TAG_INVALID", `invalid tag ${JSON.stringify(tag.slice(0, 200))}: a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
}

/**
 * A `last=` as the database can take it. Names never hold a NUL (and
 * PostgreSQL refuses one in text), so everything after "a\0…" is exactly
 * everything after "a".
 */
function listAfter(last: string | undefined): string | undefined {
  return last?.split("\0")[0];
}

/** A reference containing ":" is a digest (tags cannot contain one); returns undefined for tags. */
function referenceDigest(reference: string): Digest | undefined {
  if (!reference.includes(":")) return undefined;
  try {
    return parseDigest(reference);
  } catch (error) {
    if (error instanceof DigestError) throw new OciError("DIGEST_INVALID", error.describe());
    throw error;
  }
}

function checkVerifiable(digest: Digest): RegisteredAlgorithm {
  try {
    return verifiableAlgorithm(digest);
  } catch (error) {
    if (error instanceof DigestError) throw new OciError("DIGEST_INVALID", error.describe());
    throw error;
  }
}

function checkStart(bounds: ChunkBounds, offset: number): void {
  if (bounds.start !== undefined && bounds.start !== offset) {
    throw new OciError("RANGE_INVALID", `chunk starts at ${bounds.start}, but the upload has ${offset} bytes`, { offset });
  }
}

/** Hash bytes as they pass (when given a hasher); with a declared length, fail the stream on any other length. */
function hashingTap(hasher: DigestHasher | undefined, length?: number): TransformStream<Uint8Array, Uint8Array> {
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      seen += chunk.byteLength;
      if (length !== undefined && seen > length) {
        controller.error(new ContentMismatchError("size", String(length), `more than ${length}`));
        return;
      }
      hasher?.update(chunk);
      controller.enqueue(chunk);
    },
    flush(controller) {
      if (length !== undefined && seen !== length) controller.error(new ContentMismatchError("size", String(length), String(seen)));
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<void> {
  for await (const _ of stream);
}

/** Client-caused content errors become their OCI codes; a full disk says so. */
function storageError(error: unknown): unknown {
  if (error instanceof OciError) return error;
  if (error instanceof ContentMismatchError) {
    return error.kind === "digest"
      ? new OciError("DIGEST_INVALID", error.describe(), { expected: error.expected, actual: error.actual })
      : new OciError("SIZE_INVALID", error.describe());
  }
  if (error instanceof DigestError) return new OciError("DIGEST_INVALID", error.describe());
  if ((error as NodeJS.ErrnoException | null)?.code === "ENOSPC") {
    return new OciError("UNAVAILABLE", "the store's disk is full", undefined, 507);
  }
  return error;
}
