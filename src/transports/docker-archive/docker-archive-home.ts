/**
 * `docker-archive:FILE` — what `docker save` (and `skopeo copy ...
 * docker-archive:`) writes, read in place as a source:
 *
 *   manifest.json     [{"Config": "<path>", "RepoTags": ["nginx:1.25"], "Layers": ["<path>", ...]}, ...]
 *   repositories      {"nginx": {"1.25": "<top layer id>"}}   (legacy; names untagged images)
 *   <id>/layer.tar    legacy layer folders (often symlinks to the files below)
 *   <hex>.json        config (legacy);  blobs/sha256/<hex> (docker 25+, an OCI layout)
 *
 * Each image becomes a Docker schema2 manifest over the layers as they are
 * (no recompression). A layer's media type comes from its first bytes
 * (gzip or plain tar); its digest from its name when it sits at
 * `blobs/<alg>/<hex>`, from the config's diff_id when it is a plain tar
 * (a tar's digest is its diff_id), and otherwise by hashing it once. The
 * manifest bytes are a pure function of the archive, so digests are stable
 * across runs. Bytes are served unverified: the consumer verifies them.
 */
import { z } from "zod";
import { type Digest, digestOf, digestStream, isDigest, parseDigest } from "../../digest/index.ts";
import {
  type BlobContent,
  type Descriptor,
  descriptorSchema,
  describeZodError,
  type ImageReader,
  imageConfigSchema,
  type ListOptions,
  type ManifestContent,
  MediaType,
  OciError,
} from "../../oci/index.ts";
import { parseNormalizedReference } from "../../reference/index.ts";
import { quote, TransportError } from "../errors.ts";
import { fileContent } from "../layout/layout-reader.ts";
import { repositoryFromPath } from "../layout/ref-name.ts";
import { listPage } from "../list-page.ts";
import { openTar } from "../oci-archive/oci-archive-reader.ts";
import type { TarIndex } from "../tar/tar-index.ts";

const manifestJsonSchema = z.array(
  z.object({
    Config: z.string().min(1),
    RepoTags: z.array(z.string()).nullable().optional(),
    Layers: z.array(z.string().min(1)),
    LayerSources: z.record(z.string(), descriptorSchema).optional(),
  }),
);

const repositoriesSchema = z.record(z.string(), z.record(z.string(), z.string()));

const MANIFEST_JSON_MAX = 16 * 1024 * 1024;
const CONFIG_MAX = 64 * 1024 * 1024;

type ArchiveImage = z.infer<typeof manifestJsonSchema>[number];

export interface DockerArchiveName {
  repository: string;
  tag: string;
}

export interface DockerArchiveImage {
  index: number;
  repository: string;
  /** The tag, or the digest of an image without names. */
  reference: string;
  tag?: string;
  digest: Digest;
}

interface Converted {
  manifest: ManifestContent;
  /** digest → bytes in the archive. */
  blobs: Map<string, Blob>;
}

export interface DockerArchiveOptions {
  /** Repository under which images without a name are listed (by digest). Default: from the file name. */
  tagRepository?: string;
}

export class DockerArchiveHome implements ImageReader {
  readonly description: string;
  readonly #converted = new Map<number, Promise<Converted>>();
  readonly #hashes = new Map<string, Promise<Digest>>();

  private constructor(
    readonly path: string,
    readonly tar: TarIndex,
    readonly images: ArchiveImage[],
    /** The names of each image (by position in manifest.json). */
    readonly names: DockerArchiveName[][],
    readonly tagRepository: string,
  ) {
    this.description = `docker-archive:${path}`;
  }

  static async open(path: string, options: DockerArchiveOptions = {}): Promise<DockerArchiveHome> {
    const description = `docker-archive:${path}`;
    const tar = await openTar(path, description);
    const manifestFile = tar.file("manifest.json");
    if (!manifestFile) {
      const legacy = tar.file("repositories") ? " (an archive from Docker before 1.10, which is not supported)" : "";
      throw new TransportError("invalid-content", `${description}: not a docker save archive: no manifest.json${legacy}`);
    }
    const images = parseJson(await readBlob(manifestFile, MANIFEST_JSON_MAX, `${description}: manifest.json`), manifestJsonSchema, `${description}: manifest.json`);
    const repositoriesFile = tar.file("repositories");
    const repositories = repositoriesFile
      ? parseJson(await readBlob(repositoriesFile, MANIFEST_JSON_MAX, `${description}: repositories`), repositoriesSchema, `${description}: repositories`)
      : {};
    const names = images.map((image, i) => imageNames(image, repositories, `${description}: image ${i} in manifest.json`));
    return new DockerArchiveHome(path, tar, images, names, options.tagRepository ?? repositoryFromPath(path));
  }

  /**
   * Every image once per name; an image without names once, by digest
   * under the tag repository. `index` is its position in manifest.json.
   */
  async list(): Promise<DockerArchiveImage[]> {
    const out: DockerArchiveImage[] = [];
    for (let index = 0; index < this.images.length; index++) {
      const { digest } = (await this.#convert(index)).manifest;
      if (this.names[index]!.length === 0) out.push({ index, repository: this.tagRepository, reference: digest, digest });
      for (const name of this.names[index]!) out.push({ index, ...name, reference: name.tag, digest });
    }
    return out;
  }

  async resolve(repository: string, reference: string): Promise<Descriptor> {
    const { manifest } = await this.#find(repository, reference);
    return { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.byteLength };
  }

  async manifest(repository: string, reference: string): Promise<ManifestContent> {
    return (await this.#find(repository, reference)).manifest;
  }

  async blob(repository: string, digest: Digest): Promise<BlobContent> {
    const file = await this.#blob(digest);
    if (!file) throw new OciError("BLOB_UNKNOWN", `blob ${digest} is not in ${this.description}`, { repository });
    return fileContent(digest, file);
  }

  async statBlob(_repository: string, digest: Digest): Promise<number | undefined> {
    return (await this.#blob(digest))?.size;
  }

  async hasManifest(_repository: string, digest: Digest): Promise<boolean> {
    for (let i = 0; i < this.images.length; i++) if ((await this.#convert(i)).manifest.digest === digest) return true;
    return false;
  }

  async repositories(options?: ListOptions): Promise<string[]> {
    const names = this.names.flat().map((n) => n.repository);
    if (this.names.some((n) => n.length === 0)) names.push(this.tagRepository);
    return listPage(names, options);
  }

  async tags(repository: string, options?: ListOptions): Promise<string[]> {
    const tags = this.names.flat().filter((n) => n.repository === repository).map((n) => n.tag);
    if (tags.length === 0 && !(repository === this.tagRepository && this.names.some((n) => n.length === 0))) {
      throw new OciError("NAME_UNKNOWN", `repository ${quote(repository)} is not in ${this.description}`);
    }
    return listPage(tags, options);
  }

  async #find(repository: string, reference: string): Promise<Converted> {
    if (isDigest(reference)) {
      for (let i = 0; i < this.images.length; i++) {
        const converted = await this.#convert(i);
        if (converted.manifest.digest === reference) return converted;
      }
      throw new OciError("MANIFEST_UNKNOWN", `manifest ${reference} is not in ${this.description}`);
    }
    const i = this.names.findIndex((names) => names.some((n) => n.repository === repository && n.tag === reference));
    if (i < 0) {
      if (!this.names.flat().some((n) => n.repository === repository)) {
        throw new OciError("NAME_UNKNOWN", `repository ${quote(repository)} is not in ${this.description}`);
      }
      throw new OciError("MANIFEST_UNKNOWN", `${repository}:${reference} is not in ${this.description}`);
    }
    return this.#convert(i);
  }

  async #blob(digest: Digest): Promise<Blob | undefined> {
    for (let i = 0; i < this.images.length; i++) {
      const found = (await this.#convert(i)).blobs.get(digest);
      if (found) return found;
    }
    return undefined;
  }

  #convert(i: number): Promise<Converted> {
    let converted = this.#converted.get(i);
    if (!converted) {
      converted = this.#doConvert(i);
      this.#converted.set(i, converted);
    }
    return converted;
  }

  async #doConvert(i: number): Promise<Converted> {
    const image = this.images[i]!;
    const where = `${this.description}: image ${i} (${this.names[i]!.map((n) => `${n.repository}:${n.tag}`).join(", ") || "untagged"})`;
    const configFile = this.tar.file(image.Config);
    if (!configFile) throw new TransportError("invalid-content", `${where}: config ${quote(image.Config)} is missing from the archive`);
    const configBytes = await readBlob(configFile, CONFIG_MAX, `${where}: config`);
    const configResult = imageConfigSchema.safeParse(parseJsonValue(configBytes, `${where}: config`));
    if (!configResult.success) throw new TransportError("invalid-content", `${where}: config is not an image config: ${describeZodError(configResult.error)}`);
    const diffIds = configResult.data.rootfs?.diff_ids ?? [];
    const config = { mediaType: MediaType.dockerConfig, digest: digestOf(configBytes), size: configBytes.byteLength };
    const blobs = new Map<string, Blob>([[config.digest, configFile]]);
    const layers: Descriptor[] = [];
    for (const [n, path] of image.Layers.entries()) {
      const diffId = diffIds[n];
      const entry = this.tar.resolve(path);
      if (!entry) {
        const foreign = diffId ? image.LayerSources?.[diffId] : undefined;
        if (foreign) {
          layers.push(foreign);
          continue;
        }
        throw new TransportError("invalid-content", `${where}: layer ${quote(path)} is missing from the archive`);
      }
      const file = this.tar.file(entry.name)!;
      const kind = await sniff(file);
      const digest = digestFromName(entry.name) ?? (kind === "tar" && diffId && isDigest(diffId) ? parseDigest(diffId) : await this.#hash(entry.name, file));
      layers.push({ mediaType: LAYER_TYPES[kind], size: file.size, digest });
      blobs.set(digest, file);
    }
    // Key order and compact JSON are fixed: the digest is a function of the archive.
    const bytes = new TextEncoder().encode(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config,
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.urls ? { urls: l.urls } : {}) })),
      }),
    );
    return { manifest: { digest: digestOf(bytes), mediaType: MediaType.dockerManifest, bytes }, blobs };
  }

  /** Hash a layer once, however many images share it. */
  #hash(name: string, file: Blob): Promise<Digest> {
    let hash = this.#hashes.get(name);
    if (!hash) {
      hash = digestStream(file.stream()).then((r) => r.digest);
      this.#hashes.set(name, hash);
    }
    return hash;
  }
}

const LAYER_TYPES = {
  gzip: MediaType.dockerLayerGzip,
  zstd: MediaType.ociLayerZstd,
  tar: MediaType.dockerLayer,
} as const;

async function sniff(file: Blob): Promise<keyof typeof LAYER_TYPES> {
  const head = new Uint8Array(await file.slice(0, 4).arrayBuffer());
  if (head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
  return "tar";
}

/** `blobs/sha256/<hex>` names its digest. */
function digestFromName(name: string): Digest | undefined {
  const match = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  return match && isDigest(`${match[1]}:${match[2]}`) ? parseDigest(`${match[1]}:${match[2]}`) : undefined;
}

/** Names from RepoTags, or from the legacy `repositories` file by top layer id. */
function imageNames(image: ArchiveImage, repositories: Record<string, Record<string, string>>, where: string): DockerArchiveName[] {
  let tags = image.RepoTags ?? [];
  if (tags.length === 0) {
    const top = image.Layers[image.Layers.length - 1]?.split("/")[0];
    tags = Object.entries(repositories).flatMap(([repo, byTag]) =>
      Object.entries(byTag)
        .filter(([, id]) => id === top)
        .map(([tag]) => `${repo}:${tag}`),
    );
  }
  return tags.map((text) => {
    let ref;
    try {
      ref = parseNormalizedReference(text);
    } catch (error) {
      throw new TransportError("invalid-content", `${where}: invalid name ${quote(text)}: ${(error as Error).message}`);
    }
    return { repository: ref.name, tag: ref.tag ?? "latest" };
  });
}

async function readBlob(file: Blob, max: number, where: string): Promise<Uint8Array> {
  if (file.size > max) throw new TransportError("invalid-content", `${where} is ${file.size} bytes; refusing more than ${max}`);
  return new Uint8Array(await file.arrayBuffer());
}

function parseJsonValue(bytes: Uint8Array, where: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw new TransportError("invalid-content", `${where} is not valid JSON: ${(error as Error).message}`);
  }
}

function parseJson<T>(bytes: Uint8Array, schema: z.ZodType<T>, where: string): T {
  const result = schema.safeParse(parseJsonValue(bytes, where));
  if (!result.success) throw new TransportError("invalid-content", `${where} is not what docker save writes: ${describeZodError(result.error)}`);
  return result.data;
}
