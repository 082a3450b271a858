/**
 * The one image interface. Images live in four kinds of place (a registry,
 * an OCI layout, an archive, the embedded store); each is one implementation
 * of these types, so copying, serving and checking are written once.
 *
 * The core is small. Optional speed-ups (mount, referrers, deletes, close)
 * are separate interfaces found at run time with the guards below.
 */
import type { Digest } from "../digest/index.ts";
import type { Descriptor } from "./descriptor.ts";

/** Manifest bytes exactly as stored; never re-serialised. */
export interface ManifestContent {
  digest: Digest;
  mediaType: string;
  bytes: Uint8Array;
}

/** A byte range, `end` exclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A readable blob. Reading it twice is allowed; each call opens anew. */
export interface BlobContent {
  digest: Digest;
  size: number;
  /** The bytes (or the range of them) as a stream. */
  stream(range?: ByteRange): ReadableStream<Uint8Array>;
  /**
   * The bytes as a Blob, when they sit in a file or object Bun can send
   * without passing them through JavaScript (sendfile for a local file or a
   * slice of a tar). Absent when only a stream is possible.
   */
  blob?(range?: ByteRange): Blob;
  /**
   * The whole blob as the transport's own stream, its request made and
   * answered (a refusal throws here, not in the stream), held to `size`
   * by the transport: a body Bun writes to a file without passing it
   * through JavaScript (see BlobFileWriter). Absent when only stream()
   * is possible.
   */
  open?(signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
}

export interface ListOptions {
  /** Return names sorted after this one. */
  last?: string;
  /** At most this many. */
  limit?: number;
}

export interface ImageReader {
  /** How to name this home in messages, e.g. `oci:/media/bundle`. */
  readonly description: string;
  /** A tag or digest to the descriptor of its manifest. Throws OciError MANIFEST_UNKNOWN or NAME_UNKNOWN. */
  resolve(repository: string, reference: string): Promise<Descriptor>;
  /** A manifest by tag or digest. Throws OciError MANIFEST_UNKNOWN. */
  manifest(repository: string, reference: string): Promise<ManifestContent>;
  /** Throws OciError BLOB_UNKNOWN. */
  blob(repository: string, digest: Digest): Promise<BlobContent>;
  /** The blob's size if the repository has it, else undefined. */
  statBlob(repository: string, digest: Digest): Promise<number | undefined>;
  hasManifest(repository: string, digest: Digest): Promise<boolean>;
  /** Repository names, sorted. */
  repositories(options?: ListOptions): Promise<string[]>;
  /** Tags of a repository, sorted. Throws OciError NAME_UNKNOWN for an unknown repository. */
  tags(repository: string, options?: ListOptions): Promise<string[]>;
}

export interface BlobInput {
  digest: Digest;
  /** Declared size; verified when given. */
  size?: number;
  mediaType?: string;
}

export interface ImageWriter {
  /**
   * Store a blob. The home verifies digest (and size, when given) once, as
   * the bytes arrive (while they stream, or from the file it wrote them
   * to), and the blob becomes visible only on a match.
   */
  putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void>;
  /**
   * Store manifest bytes exactly as given; `reference` is a tag (the
   * manifest is stored and tagged) or its digest. Returns the digest.
   */
  putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest>;
}

export type ImageHome = ImageReader & ImageWriter;

/** Cross-repository mount within one home. */
export interface BlobMounter {
  /** True when the blob is now in `repository`; false when the home could not mount it (then upload). */
  mountBlob(repository: string, fromRepository: string | undefined, digest: Digest): Promise<boolean>;
}

/**
 * Sending a Blob body (a file, a slice of an archive) without reading it
 * through JavaScript, reporting bytes on the way. A registry implements it:
 * the body goes to the socket by sendfile, in one request that says
 * nothing until it ends, so the bytes reported meanwhile are an estimate
 * (`estimated`), corrected when the registry confirms. The embedded store
 * implements it too: it reads the file in pieces through a buffer of its
 * own, no stream, and reports what it has written. Other writers read
 * every body as a stream anyway, so a caller who wants progress hands
 * them a stream it counts itself.
 */
export interface BlobSender {
  /**
   * As putBlob; `onProgress` gets byte counts as they go (negative to take
   * some back). An abort of `signal` stops the work and nothing is stored.
   */
  sendBlob(
    repository: string,
    blob: BlobInput,
    body: Blob,
    onProgress: (bytes: number, estimated: boolean) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

/**
 * Storing a body as a local file without passing it through JavaScript:
 * Bun writes it (copy_file_range for a file body, the socket's bytes for
 * a transport's stream) and the file is verified on a worker thread
 * before it becomes visible. An OCI layout and a bundle being written
 * implement it; the copy engine hands them the source's own body
 * (BlobContent.blob, or .open) instead of a stream it counts.
 */
export interface BlobFileWriter {
  /**
   * As putBlob; `onProgress` gets byte counts as the file grows. An abort
   * of `signal` stops the work and nothing is stored.
   */
  writeBlob(
    repository: string,
    blob: BlobInput,
    body: Blob | ReadableStream<Uint8Array>,
    onProgress: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

/** The OCI referrers API. */
export interface ReferrersLister {
  referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]>;
}

export interface ContentDeleter {
  deleteManifest(repository: string, digest: Digest): Promise<void>;
  deleteTag(repository: string, tag: string): Promise<void>;
  deleteBlob(repository: string, digest: Digest): Promise<void>;
}

/** Homes that hold files, sockets or database handles. */
export interface Closable {
  close(): Promise<void>;
}

export const canMount = (home: object): home is BlobMounter =>
  typeof (home as Partial<BlobMounter>).mountBlob === "function";
export const canSendBlobs = (home: object): home is BlobSender => typeof (home as Partial<BlobSender>).sendBlob === "function";
export const canWriteBlobFiles = (home: object): home is BlobFileWriter =>
  typeof (home as Partial<BlobFileWriter>).writeBlob === "function";
export const canListReferrers = (home: object): home is ReferrersLister =>
  typeof (home as Partial<ReferrersLister>).referrers === "function";
export const canDelete = (home: object): home is ContentDeleter =>
  typeof (home as Partial<ContentDeleter>).deleteManifest === "function";
export const isClosable = (home: object): home is Closable => typeof (home as Partial<Closable>).close === "function";
export const isWritable = (home: object): home is ImageWriter =>
  typeof (home as Partial<ImageWriter>).putBlob === "function" &&
  typeof (home as Partial<ImageWriter>).putManifest === "function";
