/**
 * `registry-dir:DIR` — the filesystem storage of a CNCF distribution
 * registry, read in place (a way off a running `docker-registry`, and the
 * format offline images used to travel in):
 *
 *   DIR/docker/registry/v2/
 *     blobs/<alg>/<hex[0:2]>/<hex>/data                       every blob and manifest
 *     repositories/<name>/_manifests/tags/<tag>/current/link  "sha256:…": what a tag points at
 *     repositories/<name>/_manifests/revisions/<alg>/<hex>/link   manifests of the repository
 *     repositories/<name>/_layers/<alg>/<hex>/link            blobs of the repository
 *
 * DIR may be the storage root (with `docker/registry/v2` below it) or the
 * `v2` directory itself. Repository and tag names are checked against the
 * reference grammar before they touch a path. Blobs are served unverified;
 * manifests are checked against their digest.
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { algorithmOf, type Digest, digestOf, encodedOf, isDigest, tryParseDigest } from "../../digest/index.ts";
import {
  type BlobContent,
  type Descriptor,
  type ImageReader,
  type ListOptions,
  MANIFEST_SIZE_MAX,
  type ManifestContent,
  OciError,
  parseManifest,
} from "../../oci/index.ts";
import { patterns } from "../../reference/index.ts";
import { quote, TransportError } from "../errors.ts";
import { fileContent } from "../layout/layout-reader.ts";
import { listPage } from "../list-page.ts";

/** Repositories nest; this bounds a hostile tree. */
const MAX_DEPTH = 32;

export class RegistryDirHome implements ImageReader {
  readonly description: string;

  private constructor(
    readonly root: string,
    /** The `v2` directory. */
    readonly v2: string,
  ) {
    this.description = `registry-dir:${root}`;
  }

  static async open(root: string): Promise<RegistryDirHome> {
    const description = `registry-dir:${root}`;
    if (!(await isDirectory(root))) throw new TransportError("not-found", `${description}: no such directory`);
    for (const v2 of [join(root, "docker", "registry", "v2"), root]) {
      if ((await isDirectory(join(v2, "repositories"))) || (await isDirectory(join(v2, "blobs")))) return new RegistryDirHome(root, v2);
    }
    throw new TransportError("invalid-content", `${description}: not the storage of a distribution registry (no docker/registry/v2/repositories)`);
  }

  #repositoryPath(repository: string): string {
    if (!patterns.ANCHORED_REMOTE_NAME.test(repository)) {
      throw new OciError("NAME_INVALID", `invalid repository name ${quote(repository)}`);
    }
    return join(this.v2, "repositories", repository);
  }

  #blobPath(digest: Digest): string {
    const hex = encodedOf(digest);
    return join(this.v2, "blobs", algorithmOf(digest), hex.slice(0, 2), hex, "data");
  }

  async #checkRepository(repository: string): Promise<string> {
    const path = this.#repositoryPath(repository);
    if (!(await isDirectory(join(path, "_manifests"))) && !(await isDirectory(join(path, "_layers")))) {
      throw new OciError("NAME_UNKNOWN", `repository ${quote(repository)} is not in ${this.description}`);
    }
    return path;
  }

  async #link(path: string): Promise<Digest | undefined> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      return undefined;
    }
    return tryParseDigest(text.trim());
  }

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const content = await this.manifest(repository, reference);
    return { mediaType: content.mediaType, digest: content.digest, size: content.bytes.byteLength };
  }

  async manifest(repository: string, reference: string): Promise<ManifestContent> {
    const path = await this.#checkRepository(repository);
    let digest: Digest | undefined;
    if (isDigest(reference)) {
      digest = (await this.#link(join(path, "_manifests", "revisions", algorithmOf(reference as Digest), encodedOf(reference as Digest), "link")))
        ? (reference as Digest)
        : undefined;
    } else if (patterns.ANCHORED_TAG.test(reference)) {
      digest = await this.#link(join(path, "_manifests", "tags", reference, "current", "link"));
    }
    if (!digest) throw new OciError("MANIFEST_UNKNOWN", `${repository}${isDigest(reference) ? "@" : ":"}${reference} is not in ${this.description}`);
    const file = await this.#file(this.#blobPath(digest));
    if (!file) throw new OciError("MANIFEST_UNKNOWN", `${repository}: manifest ${digest} is linked but its data is missing from ${this.description}`);
    if (file.size > MANIFEST_SIZE_MAX) throw new OciError("MANIFEST_INVALID", `manifest ${digest} in ${this.description} is too large`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const actual = digestOf(bytes);
    if (actual !== digest) {
      throw new OciError("MANIFEST_INVALID", `manifest ${digest} in ${this.description} is corrupt: its bytes hash to ${actual}`);
    }
    return { digest, mediaType: parseManifest(bytes).mediaType, bytes };
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    await this.#checkRepository(repository);
    const file = await this.#file(this.#blobPath(digest));
    if (!file) throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in ${this.description}`, { repository });
    return fileContent(digest, file);
  }

  async statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    try {
      await this.#checkRepository(repository);
    } catch {
      return undefined;
    }
    return (await this.#file(this.#blobPath(digest)))?.size;
  }

  async hasManifest(repository: string, digest: Digest): Promise<boolean> {
    try {
      const path = await this.#checkRepository(repository);
      const linked = await this.#link(join(path, "_manifests", "revisions", algorithmOf(digest), encodedOf(digest), "link"));
      return linked !== undefined && (await this.#file(this.#blobPath(digest))) !== undefined;
    } catch {
      return false;
    }
  }

  async repositories(options?: ListOptions): Promise<string[]> {
    const found: string[] = [];
    const walk = async (dir: string, prefix: string, depth: number) => {
      if (depth > MAX_DEPTH) return;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (prefix && entries.some((e) => e.name === "_manifests" && e.isDirectory())) found.push(prefix);
      for (const e of entries) {
        if (!e.isDirectory() || e.name.startsWith("_")) continue;
        const name = prefix ? `${prefix}/${e.name}` : e.name;
        if (patterns.ANCHORED_REMOTE_NAME.test(name)) await walk(join(dir, e.name), name, depth + 1);
      }
    };
    await walk(join(this.v2, "repositories"), "", 0);
    return listPage(found, options);
  }

  async tags(repository: string, options?: ListOptions): Promise<string[]> {
    const path = await this.#checkRepository(repository);
    let names: string[] = [];
    try {
      names = await readdir(join(path, "_manifests", "tags"));
    } catch {}
    const tags: string[] = [];
    for (const tag of names) {
      if (patterns.ANCHORED_TAG.test(tag) && (await this.#link(join(path, "_manifests", "tags", tag, "current", "link")))) tags.push(tag);
    }
    return listPage(tags, options);
  }

  async #file(path: string): Promise<Blob | undefined> {
    try {
      const info = await stat(path);
      return info.isFile() ? Bun.file(path).slice(0, info.size) : undefined;
    } catch {
      return undefined;
    }
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
