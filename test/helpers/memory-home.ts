/**
 * An in-memory home: the image interface with nothing behind it but maps.
 * It verifies what it is given like a real home does, and counts calls so
 * tests can assert what a copy did (or skipped).
 */
import { type Digest, digestOf, verifyStream } from "../../src/digest/index.ts";
import {
  type BlobContent,
  type BlobInput,
  type BlobMounter,
  type ContentDeleter,
  type Descriptor,
  type ImageHome,
  type ListOptions,
  type ManifestContent,
  manifestReferences,
  OciError,
  parseManifest,
  type ReferrersLister,
  artifactTypeOf,
  annotationsOf,
} from "../../src/oci/index.ts";

interface Repo {
  blobs: Set<string>;
  manifests: Map<string, ManifestContent>;
  tags: Map<string, string>;
}

export class MemoryHome implements ImageHome, BlobMounter, ReferrersLister, ContentDeleter {
  readonly description: string;
  readonly blobs = new Map<string, Uint8Array>();
  readonly repos = new Map<string, Repo>();
  /** Number of calls per method name. */
  readonly calls: Record<string, number> = {};
  /** When set, putManifest refuses manifests whose blobs are missing (as a registry does). */
  strict = true;

  constructor(description = "memory:") {
    this.description = description;
  }

  #count(name: string) {
    this.calls[name] = (this.calls[name] ?? 0) + 1;
  }

  #repo(name: string, create = false): Repo {
    let repo = this.repos.get(name);
    if (!repo) {
      if (!create) throw new OciError("NAME_UNKNOWN", `repository ${name} not known`);
      repo = { blobs: new Set(), manifests: new Map(), tags: new Map() };
      this.repos.set(name, repo);
    }
    return repo;
  }

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    this.#count("resolve");
    const m = await this.#manifest(repository, reference);
    return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
  }

  async #manifest(repository: string, reference: string): Promise<ManifestContent> {
    const repo = this.repos.get(repository);
    const digest = reference.includes(":") ? reference : repo?.tags.get(reference);
    const m = digest ? repo?.manifests.get(digest) : undefined;
    if (!m) throw new OciError("MANIFEST_UNKNOWN", `manifest ${repository}:${reference} unknown`);
    return m;
  }

  async manifest(repository: string, reference: string): Promise<ManifestContent> {
    this.#count("manifest");
    return this.#manifest(repository, reference);
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    this.#count("blob");
    const bytes = this.repos.get(repository)?.blobs.has(digest) ? this.blobs.get(digest) : undefined;
    if (!bytes) throw new OciError("BLOB_UNKNOWN", `blob ${digest} unknown in ${repository}`);
    return {
      digest,
      size: bytes.byteLength,
      stream: (range) => slice(bytes, range).stream(),
      blob: (range) => slice(bytes, range),
    };
  }

  async statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    this.#count("statBlob");
    return this.repos.get(repository)?.blobs.has(digest) ? this.blobs.get(digest)?.byteLength : undefined;
  }

  async hasManifest(repository: string, digest: Digest): Promise<boolean> {
    this.#count("hasManifest");
    return this.repos.get(repository)?.manifests.has(digest) ?? false;
  }

  async repositories(options: ListOptions = {}): Promise<string[]> {
    return page([...this.repos.keys()], options);
  }

  async tags(repository: string, options: ListOptions = {}): Promise<string[]> {
    return page([...this.#repo(repository).tags.keys()], options);
  }

  async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    this.#count("putBlob");
    const stream = body instanceof Blob ? body.stream() : body;
    const verified = stream.pipeThrough(verifyStream({ digest: blob.digest, size: blob.size }));
    const bytes = new Uint8Array(await new Response(verified).arrayBuffer());
    this.blobs.set(blob.digest, bytes);
    this.#repo(repository, true).blobs.add(blob.digest);
  }

  async putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    this.#count("putManifest");
    const parsed = parseManifest(content.bytes, content.mediaType);
    const digest = digestOf(content.bytes);
    if (reference.includes(":") && reference !== digest) {
      throw new OciError("DIGEST_INVALID", `manifest digest ${digest} does not match ${reference}`);
    }
    const repo = this.#repo(repository, true);
    if (this.strict) {
      const refs = manifestReferences(parsed);
      for (const b of refs.blobs) {
        if (!repo.blobs.has(b.digest)) throw new OciError("MANIFEST_BLOB_UNKNOWN", `blob ${b.digest} unknown`);
      }
      for (const m of refs.manifests) {
        if (!repo.manifests.has(m.digest)) throw new OciError("MANIFEST_BLOB_UNKNOWN", `manifest ${m.digest} unknown`);
      }
    }
    repo.manifests.set(digest, { digest, mediaType: parsed.mediaType, bytes: content.bytes });
    if (!reference.includes(":")) repo.tags.set(reference, digest);
    return digest;
  }

  async mountBlob(repository: string, fromRepository: string | undefined, digest: Digest): Promise<boolean> {
    this.#count("mountBlob");
    const has = fromRepository ? this.repos.get(fromRepository)?.blobs.has(digest) : this.blobs.has(digest);
    if (!has) return false;
    this.#repo(repository, true).blobs.add(digest);
    return true;
  }

  async referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const out: Descriptor[] = [];
    for (const m of this.repos.get(repository)?.manifests.values() ?? []) {
      const parsed = parseManifest(m.bytes, m.mediaType);
      const refs = manifestReferences(parsed);
      if (refs.subject?.digest !== subject) continue;
      const type = artifactTypeOf(parsed);
      if (artifactType && type !== artifactType) continue;
      const annotations = annotationsOf(parsed);
      out.push({
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.bytes.byteLength,
        ...(type ? { artifactType: type } : {}),
        ...(annotations ? { annotations } : {}),
      });
    }
    return out;
  }

  async deleteManifest(repository: string, digest: Digest): Promise<void> {
    const repo = this.#repo(repository);
    if (!repo.manifests.delete(digest)) throw new OciError("MANIFEST_UNKNOWN");
    for (const [tag, d] of repo.tags) if (d === digest) repo.tags.delete(tag);
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    if (!this.#repo(repository).tags.delete(tag)) throw new OciError("MANIFEST_UNKNOWN");
  }

  async deleteBlob(repository: string, digest: Digest): Promise<void> {
    if (!this.#repo(repository).blobs.delete(digest)) throw new OciError("BLOB_UNKNOWN");
  }
}

function slice(bytes: Uint8Array, range?: { start: number; end: number }): Blob {
  return new Blob([(range ? bytes.subarray(range.start, range.end) : bytes) as Uint8Array<ArrayBuffer>]);
}

function page(names: string[], { last, limit }: ListOptions): string[] {
  const sorted = names.sort().filter((n) => last === undefined || n > last);
  return limit === undefined ? sorted : sorted.slice(0, limit);
}
