/**
 * `oci:DIR` — an OCI image layout directory, readable and writable.
 *
 *   DIR/oci-layout            {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json            the named entries (ref.name = the full reference)
 *   DIR/blobs/<alg>/<hex>     every blob and manifest, once
 *
 * Blobs and index.json are committed atomically (temp file in DIR, fsync,
 * rename, directory fsync). index.json is rewritten under a lock file and
 * re-read under that lock, so two processes writing one layout both land.
 */
import { mkdir, open, readdir, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import {
  algorithmOf,
  type Digest,
  digestOf,
  isDigest,
  isVerifiable,
  verifiableAlgorithm,
  verifyStream,
} from "../../digest/index.ts";
import {
  Annotation,
  type BlobFileWriter,
  type BlobInput,
  type BlobMounter,
  type ContentDeleter,
  type ImageHome,
  manifestReferences,
  OciError,
  parseManifest,
} from "../../oci/index.ts";
import { parseReference, parseTag } from "../../reference/index.ts";
import { quote, TransportError } from "../errors.ts";
import { commitBytes, commitVerified, removeAbandonedTemps } from "../fs/durable-file.ts";
import { withLockFile } from "../fs/lock-file.ts";
import { asOciError } from "./content-errors.ts";
import { blobPath, type LayoutFiles } from "./layout-files.ts";
import { INDEX_SIZE_MAX, LayoutIndex, ociLayoutSchema } from "./layout-index.ts";
import { LayoutReader } from "./layout-reader.ts";
import { entryName, joinRefName, repositoryFromPath } from "./ref-name.ts";

export interface OciLayoutOptions {
  /** Repository of entries named by a bare tag. Default: from the directory name. */
  tagRepository?: string;
  /** Create the layout when the directory is missing or empty (destinations). */
  create?: boolean;
  /**
   * Content held elsewhere that manifests may reference (an archive being
   * rewritten through this layout as its staging area).
   */
  elsewhere?: (digest: Digest) => Promise<boolean>;
  /**
   * Read index.json once and keep it for the life of this home (a source
   * read for one run: it copies the entries it found at the start, and
   * saves a stat of index.json per lookup). Writes through this home
   * still read it anew. Default: every lookup checks whether index.json
   * was replaced (serve, long-lived readers).
   */
  snapshot?: boolean;
}

const LAYOUT_FILE = "oci-layout";
const INDEX_FILE = "index.json";
const LOCK_FILE = "index.json.lock";

export class OciLayoutHome extends LayoutReader implements ImageHome, BlobMounter, BlobFileWriter, ContentDeleter {
  readonly description: string;
  protected readonly files: LayoutFiles;
  readonly tagRepository: string;
  #cached?: { key: string; index: LayoutIndex };
  /** Serialises this process's index updates; the lock file serialises processes. */
  #indexQueue: Promise<unknown> = Promise.resolve();

  readonly #elsewhere?: (digest: Digest) => Promise<boolean>;
  readonly #snapshot: boolean;

  private constructor(
    readonly directory: string,
    tagRepository: string,
    elsewhere?: (digest: Digest) => Promise<boolean>,
    snapshot = false,
  ) {
    super();
    this.#elsewhere = elsewhere;
    this.#snapshot = snapshot;
    this.description = `oci:${directory}`;
    this.tagRepository = tagRepository;
    this.files = directoryFiles(directory);
  }

  static async open(directory: string, options: OciLayoutOptions = {}): Promise<OciLayoutHome> {
    if (options.tagRepository !== undefined && !isRepositoryName(options.tagRepository)) {
      throw new TransportError("invalid-spec", `invalid repository name ${quote(options.tagRepository)}`);
    }
    const home = new OciLayoutHome(directory, options.tagRepository ?? repositoryFromPath(directory), options.elsewhere, options.snapshot);
    if (options.create) {
      // Under the lock: of several processes creating one layout, one
      // initialises it and the others find it complete.
      await mkdir(directory, { recursive: true }).catch((error) => {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") throw new TransportError("invalid-content", `${home.description}: not a directory`);
        throw error;
      });
      await withLockFile(join(directory, LOCK_FILE), async () => {
        // Half-written files of a writer killed before its commit: nothing refers to them.
        await removeAbandonedTemps(directory);
        const entries = (await readdir(directory)).filter((name) => name !== LOCK_FILE);
        if (entries.length === 0 || (await home.#halfInitialised(entries))) await home.#initialise();
        else if (!entries.includes(LAYOUT_FILE)) {
          throw new TransportError("invalid-content", `${home.description}: not an OCI image layout (no ${LAYOUT_FILE} file)`);
        }
      });
    } else {
      let entries: string[];
      try {
        entries = await readdir(directory);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOTDIR") throw new TransportError("invalid-content", `${home.description}: not a directory`);
        if (code === "ENOENT") throw new TransportError("not-found", `${home.description}: no such directory`);
        throw error;
      }
      if (entries.length === 0) throw new TransportError("not-found", `${home.description}: the directory is empty`);
      if (!entries.includes(LAYOUT_FILE)) {
        throw new TransportError("invalid-content", `${home.description}: not an OCI image layout (no ${LAYOUT_FILE} file)`);
      }
    }
    await home.#checkLayoutFile();
    await home.index();
    return home;
  }

  /** Called with the lock held, in an empty directory. */
  async #initialise(): Promise<void> {
    await mkdir(join(this.directory, "blobs", "sha256"), { recursive: true });
    await commitBytes(join(this.directory, INDEX_FILE), encode(LayoutIndex.empty(this.tagRepository).raw));
    await commitBytes(join(this.directory, LAYOUT_FILE), encode({ imageLayoutVersion: "1.0.0" }));
  }

  /**
   * What #initialise leaves when killed before its last file: an empty
   * blobs tree and the empty index.json, no oci-layout. Nothing else was
   * written yet (a layout is only written to once it is complete), so
   * initialising again loses nothing.
   */
  async #halfInitialised(entries: string[]): Promise<boolean> {
    if (entries.includes(LAYOUT_FILE) || !entries.every((name) => name === "blobs" || name === INDEX_FILE)) return false;
    const blobs = await readdir(join(this.directory, "blobs"), { recursive: true, withFileTypes: true }).catch(() => undefined);
    if (blobs?.some((entry) => !entry.isDirectory())) return false;
    if (!entries.includes(INDEX_FILE)) return true;
    const index = await Bun.file(join(this.directory, INDEX_FILE)).text().catch(() => undefined);
    return index === new TextDecoder().decode(encode(LayoutIndex.empty(this.tagRepository).raw));
  }

  async #checkLayoutFile(): Promise<void> {
    const file = Bun.file(join(this.directory, LAYOUT_FILE));
    let version: string;
    try {
      if (file.size > 4096) throw new Error("too large");
      version = ociLayoutSchema.parse(await file.json()).imageLayoutVersion;
    } catch {
      throw new TransportError("invalid-content", `${this.description}: ${LAYOUT_FILE} is not {"imageLayoutVersion": "1.0.0"}`);
    }
    if (!version.startsWith("1.")) {
      throw new TransportError("invalid-content", `${this.description}: unsupported image layout version ${quote(version)}`);
    }
  }

  /** The index, re-read when index.json was replaced (by us or another process), unless a snapshot. */
  protected async index(): Promise<LayoutIndex> {
    if (this.#snapshot && this.#cached) return this.#cached.index;
    const path = join(this.directory, INDEX_FILE);
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new TransportError("invalid-content", `${this.description}: ${INDEX_FILE} is missing`);
      }
      throw error;
    }
    const key = `${info.ino}:${info.mtimeMs}:${info.size}`;
    if (this.#cached?.key === key) return this.#cached.index;
    const index = await this.#readIndex();
    this.#cached = { key, index };
    return index;
  }

  /**
   * Size and bytes from one open file: another process may replace
   * index.json meanwhile, and a Bun.file would read the new file only as
   * far as the old one's size.
   */
  async #readIndex(): Promise<LayoutIndex> {
    const handle = await open(join(this.directory, INDEX_FILE), "r");
    try {
      const { size } = await handle.stat();
      if (size > INDEX_SIZE_MAX) {
        throw new TransportError("invalid-content", `${this.description}: ${INDEX_FILE} is ${size} bytes; that is not an index`);
      }
      const bytes = new Uint8Array(size);
      for (let done = 0, read = -1; done < size && read !== 0; done += read) {
        read = (await handle.read(bytes, done, size - done, done)).bytesRead;
      }
      return LayoutIndex.parse(bytes, this.tagRepository, this.description);
    } finally {
      await handle.close();
    }
  }

  /** Read-modify-write index.json under the lock; `change` returns false to leave it as it is. */
  async #updateIndex(change: (manifests: unknown[], index: LayoutIndex) => boolean): Promise<void> {
    const run = async () => {
      await withLockFile(join(this.directory, LOCK_FILE), async () => {
        const index = await this.#readIndex();
        const manifests = [...index.raw.manifests];
        if (!change(manifests, index)) return;
        await commitBytes(join(this.directory, INDEX_FILE), encode({ ...index.raw, manifests }));
      });
      this.#cached = undefined;
    };
    const next = this.#indexQueue.then(run, run);
    this.#indexQueue = next.catch(() => {});
    await next;
  }

  putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    return this.writeBlob(repository, blob, body, () => {});
  }

  /**
   * A blob is written beside its place without passing through JavaScript,
   * verified from the file on a worker thread, then committed (see
   * commitVerified): the body must be bounded by its source, as the
   * transports' bodies are (a file's size, a registry's Content-Length).
   */
  async writeBlob(
    repository: string,
    blob: BlobInput,
    body: ReadableStream<Uint8Array> | Blob,
    onProgress: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const where = `${this.description}: blob ${blob.digest} for ${repository}`;
    try {
      const path = join(this.directory, blobPath(blob.digest));
      if (await exists(path)) {
        // Already here: still read the bytes through the check, so a wrong
        // body is refused the same whether or not we had the blob.
        const stream = body instanceof Blob ? body.stream() : body;
        for await (const chunk of stream.pipeThrough(verifyStream({ digest: blob.digest, size: blob.size }))) onProgress(chunk.byteLength);
        return;
      }
      await mkdir(join(this.directory, "blobs", algorithmOf(blob.digest)), { recursive: true });
      await commitVerified(path, body, { digest: blob.digest, ...(blob.size !== undefined ? { size: blob.size } : {}) }, {
        tempDirectory: this.directory,
        onProgress,
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (!(body instanceof Blob) && !body.locked) await body.cancel().catch(() => {});
      throw asOciError(error, where);
    }
  }

  async putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    checkRepository(repository);
    const parsed = parseManifest(content.bytes, content.mediaType);
    const byDigest = isDigest(reference);
    if (!byDigest) checkTag(reference);
    const digest = byDigest && isVerifiable(reference) ? digestOf(content.bytes, verifiableAlgorithm(reference)) : digestOf(content.bytes);
    if (byDigest && digest !== reference) {
      throw new OciError("DIGEST_INVALID", `manifest bytes hash to ${digest}, not ${reference}`);
    }
    const refs = manifestReferences(parsed);
    for (const needed of [...refs.blobs, ...refs.manifests]) {
      const present =
        (await exists(join(this.directory, blobPath(needed.digest)))) || ((await this.#elsewhere?.(needed.digest)) ?? false);
      if (!present) {
        throw new OciError(
          "MANIFEST_BLOB_UNKNOWN",
          `${this.description}: manifest ${digest} references ${needed.digest}, which is not in the layout`,
        );
      }
    }
    const path = join(this.directory, blobPath(digest));
    if (!(await exists(path))) {
      await mkdir(join(this.directory, "blobs", algorithmOf(digest)), { recursive: true });
      await commitBytes(path, content.bytes, { tempDirectory: this.directory });
    }
    const artifactType = parsed.kind === "index" ? parsed.index.artifactType : parsed.manifest.artifactType;
    const descriptor = {
      mediaType: parsed.mediaType,
      digest,
      size: content.bytes.byteLength,
      ...(artifactType ? { artifactType } : {}),
    };
    if (!byDigest) {
      const refName = joinRefName(repository, reference, this.tagRepository);
      await this.#updateIndex((manifests) => {
        const entry = { ...descriptor, annotations: { [Annotation.refName]: refName } };
        const at = manifests.findIndex((m) => sameName(m, repository, reference, this.tagRepository));
        const before = at >= 0 ? JSON.stringify(manifests[at]) : undefined;
        // Every other entry with this name goes: a name points at one image.
        for (let i = manifests.length - 1; i >= 0; i--) {
          if (sameName(manifests[i], repository, reference, this.tagRepository)) manifests.splice(i, 1);
        }
        manifests.splice(at >= 0 ? at : manifests.length, 0, entry);
        return before !== JSON.stringify(entry) || at < 0;
      });
    } else if (refs.subject) {
      // An artifact for another manifest: listed in index.json (without a
      // name) so the referrers of a subject can be found, as oras does.
      await this.#updateIndex((manifests) => {
        if (manifests.some((m) => (m as { digest?: string }).digest === digest && !nameOf(m, this.tagRepository))) return false;
        manifests.push(descriptor);
        return true;
      });
    }
    return digest;
  }

  async mountBlob(_repository: string, _fromRepository: string | undefined, digest: Digest): Promise<boolean> {
    // One pool: a blob present is present for every repository.
    return exists(join(this.directory, blobPath(digest)));
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    let found = false;
    await this.#updateIndex((manifests) => {
      for (let i = manifests.length - 1; i >= 0; i--) {
        if (sameName(manifests[i], repository, tag, this.tagRepository)) {
          manifests.splice(i, 1);
          found = true;
        }
      }
      return found;
    });
    if (!found) throw new OciError("MANIFEST_UNKNOWN", `${repository}:${tag} is not in ${this.description}`);
  }

  /**
   * Removes the index entries of this repository that point at the
   * manifest; the manifest file goes when no entry of any repository is left.
   */
  async deleteManifest(repository: string, digest: Digest): Promise<void> {
    const path = join(this.directory, blobPath(digest));
    if (!(await exists(path))) throw new OciError("MANIFEST_UNKNOWN", `manifest ${digest} is not in ${this.description}`);
    let remaining = 0;
    await this.#updateIndex((manifests) => {
      const before = manifests.length;
      for (let i = manifests.length - 1; i >= 0; i--) {
        const m = manifests[i] as { digest?: string };
        if (m.digest !== digest) continue;
        const name = nameOf(m, this.tagRepository);
        if (!name || name.repository === repository) manifests.splice(i, 1);
        else remaining++;
      }
      return manifests.length !== before;
    });
    if (remaining === 0) await unlink(path).catch(() => {});
  }

  async deleteBlob(_repository: string, digest: Digest): Promise<void> {
    try {
      await unlink(join(this.directory, blobPath(digest)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in ${this.description}`);
      }
      throw error;
    }
  }
}

/** Files of a layout directory. */
export function directoryFiles(directory: string): LayoutFiles {
  return {
    async file(path) {
      const full = join(directory, path);
      try {
        const info = await stat(full);
        return info.isFile() ? Bun.file(full).slice(0, info.size) : undefined;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw error;
      }
    },
  };
}

function nameOf(entry: unknown, tagRepository: string) {
  const annotations = (entry as { annotations?: Record<string, string> } | undefined)?.annotations;
  return typeof annotations === "object" && annotations !== null ? entryName(annotations, tagRepository) : undefined;
}

function sameName(entry: unknown, repository: string, tag: string, tagRepository: string): boolean {
  const name = nameOf(entry, tagRepository);
  return name?.repository === repository && name.tag === tag;
}

function isRepositoryName(repository: string): boolean {
  try {
    const ref = parseReference(repository);
    return ref.tag === undefined && ref.digest === undefined;
  } catch {
    return false;
  }
}

function checkRepository(repository: string): void {
  if (!isRepositoryName(repository)) throw new OciError("NAME_INVALID", `invalid repository name ${quote(repository)}`);
}

function checkTag(tag: string): void {
  try {
    parseTag(tag);
  } catch {
    throw new OciError("TAG_INVALID", `invalid tag ${quote(tag)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function encode(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

