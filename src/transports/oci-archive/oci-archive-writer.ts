/**
 * `oci-archive:FILE` as a destination. Content is staged in an OCI layout
 * directory next to FILE (so each blob is verified and committed as it
 * arrives, in any order, in parallel); `close()` then writes the archive in
 * one sequential pass and renames it over FILE. Images already in FILE are
 * kept: reads fall through to it and its blobs are copied into the new
 * archive as slices.
 *
 * The archive is reproducible: the same content gives the same bytes.
 *   oci-layout, index.json (entries sorted by name, then digest),
 *   blobs/, blobs/<alg>/, blobs/<alg>/<hex> (sorted)
 * with fixed mtime, owner and modes (tar-writer.ts). index.json comes before
 * the blobs so a reader streaming the archive knows what it holds first.
 */
import { readdir, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Digest, verifyStream } from "../../digest/index.ts";
import {
  Annotation,
  type BlobInput,
  type BlobMounter,
  type Closable,
  type ImageHome,
} from "../../oci/index.ts";
import { removeAbandonedTemps, tempPathFor } from "../fs/durable-file.ts";
import { asOciError } from "../layout/content-errors.ts";
import { blobPath, type LayoutFiles } from "../layout/layout-files.ts";
import { LayoutIndex } from "../layout/layout-index.ts";
import { LayoutReader } from "../layout/layout-reader.ts";
import { directoryFiles, OciLayoutHome } from "../layout/oci-layout-home.ts";
import { entryName, repositoryFromPath } from "../layout/ref-name.ts";
import { TarWriter } from "../tar/tar-writer.ts";
import { OciArchiveReader, tarFiles } from "./oci-archive-reader.ts";

export interface OciArchiveWriterOptions {
  tagRepository?: string;
}

export class OciArchiveWriter extends LayoutReader implements ImageHome, BlobMounter, Closable {
  readonly description: string;
  protected readonly files: LayoutFiles;
  #closed?: Promise<void>;

  private constructor(
    readonly path: string,
    readonly staging: OciLayoutHome,
    readonly existing: OciArchiveReader | undefined,
  ) {
    super();
    this.description = `oci-archive:${path}`;
    const stagingFiles = directoryFiles(staging.directory);
    const existingFiles = existing ? tarFiles(existing.tar) : undefined;
    this.files = {
      async file(p) {
        return (await stagingFiles.file(p)) ?? (await existingFiles?.file(p));
      },
    };
  }

  static async open(path: string, options: OciArchiveWriterOptions = {}): Promise<OciArchiveWriter> {
    const tagRepository = options.tagRepository ?? repositoryFromPath(path);
    const existing = (await isFile(path)) ? await OciArchiveReader.open(path, { tagRepository }) : undefined;
    // Staging directories and half-written archives of runs killed before their commit.
    await removeAbandonedTemps(dirname(path), basename(path));
    const staging = await OciLayoutHome.open(tempPathFor(path), {
      create: true,
      tagRepository,
      elsewhere: async (digest) => existing?.tar.resolve(blobPath(digest)) !== undefined,
    });
    return new OciArchiveWriter(path, staging, existing);
  }

  get tagRepository(): string {
    return this.staging.tagRepository;
  }

  /** The archive's entries, then the staged ones: a name staged replaces the same name from the archive. */
  protected async index(): Promise<LayoutIndex> {
    const staged = await this.#stagedIndex();
    if (!this.existing) return staged;
    const key = (name: { repository: string; tag?: string } | undefined) => (name?.tag !== undefined ? `${name.repository}:${name.tag}` : undefined);
    const stagedNames = new Set(staged.entries.map((e) => key(e.name)).filter((k) => k !== undefined));
    const stagedDigests = new Set(staged.entries.filter((e) => !e.name).map((e) => e.descriptor.digest));
    const kept = this.existing.layoutIndex.raw.manifests.filter((_, i) => {
      const entry = this.existing!.layoutIndex.entries[i]!;
      const k = key(entry.name);
      return k !== undefined ? !stagedNames.has(k) : !stagedDigests.has(entry.descriptor.digest);
    });
    const manifests = [...kept, ...staged.raw.manifests];
    return LayoutIndex.parse(new TextEncoder().encode(JSON.stringify({ ...staged.raw, manifests })), this.tagRepository, this.description);
  }

  async #stagedIndex(): Promise<LayoutIndex> {
    const bytes = await Bun.file(join(this.staging.directory, "index.json")).bytes();
    return LayoutIndex.parse(bytes, this.tagRepository, this.description);
  }

  async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    if (this.existing?.tar.resolve(blobPath(blob.digest))) {
      const stream = body instanceof Blob ? body.stream() : body;
      try {
        for await (const _ of stream.pipeThrough(verifyStream({ digest: blob.digest, size: blob.size })));
      } catch (error) {
        throw asOciError(error, `${this.description}: blob ${blob.digest} for ${repository}`);
      }
      return;
    }
    await this.staging.putBlob(repository, blob, body);
  }

  putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    return this.staging.putManifest(repository, reference, content);
  }

  async mountBlob(_repository: string, _from: string | undefined, digest: Digest): Promise<boolean> {
    return (await this.files.file(blobPath(digest))) !== undefined;
  }

  /** Write the archive and put it in place of FILE; the staging directory goes. */
  close(): Promise<void> {
    this.#closed ??= this.#write().finally(() => rm(this.staging.directory, { recursive: true, force: true }));
    return this.#closed;
  }

  /** Give up: FILE stays as it was. */
  async discard(): Promise<void> {
    this.#closed ??= rm(this.staging.directory, { recursive: true, force: true });
    await this.#closed;
  }

  async #write(): Promise<void> {
    const index = await this.index();
    const manifests = [...index.raw.manifests].sort((a, b) => compare(sortKey(a, this.tagRepository), sortKey(b, this.tagRepository)));
    const indexBytes = new TextEncoder().encode(JSON.stringify({ ...index.raw, manifests }));
    const blobs = new Map<string, Blob>();
    if (this.existing) {
      for (const entry of this.existing.tar.under("blobs")) {
        const file = entry.type === "directory" ? undefined : this.existing.tar.file(entry.name);
        if (file && isBlobName(entry.name)) blobs.set(entry.name, file);
      }
    }
    const blobsDir = join(this.staging.directory, "blobs");
    for (const algorithm of await readdir(blobsDir)) {
      for (const name of await readdir(join(blobsDir, algorithm))) {
        const path = `blobs/${algorithm}/${name}`;
        if (isBlobName(path)) blobs.set(path, Bun.file(join(this.staging.directory, path)));
      }
    }
    const writer = await TarWriter.create(this.path);
    try {
      await writer.file("oci-layout", 30, new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}'));
      await writer.file("index.json", indexBytes.byteLength, indexBytes);
      await writer.directory("blobs");
      let currentDir = "";
      for (const path of [...blobs.keys()].sort()) {
        const dir = path.slice(0, path.lastIndexOf("/"));
        if (dir !== currentDir) {
          await writer.directory(dir);
          currentDir = dir;
        }
        const file = blobs.get(path)!;
        await writer.file(path, file.size, file);
      }
      await writer.finish();
    } catch (error) {
      await writer.abort();
      throw error;
    }
  }
}

/** `blobs/<alg>/<encoded>` and nothing else (temp files, stray names). */
function isBlobName(path: string): boolean {
  return /^blobs\/[a-z0-9]+(?:[+._-][a-z0-9]+)*\/[a-zA-Z0-9=_-]+$/.test(path);
}

function sortKey(entry: unknown, tagRepository: string): string {
  const e = entry as { digest?: string; annotations?: Record<string, string> };
  const name = e.annotations ? entryName(e.annotations, tagRepository) : undefined;
  // Named entries first, by name; then unnamed ones by digest.
  return `${name?.tag !== undefined ? "0" : "1"}${e.annotations?.[Annotation.refName] ?? ""}\0${e.digest ?? ""}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
