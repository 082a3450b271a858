/**
 * The Distribution API v2, one method per operation, over a
 * RegistryTransport (auth, TLS, retries). Manifests come back as their
 * exact bytes; blobs as streams. Repository names are paths on this
 * registry (`library/nginx`), never full references: each is checked
 * against the grammar before a request is made (NAME_INVALID otherwise).
 */
import { type Digest, digestOf, isDigest, isVerifiable, parseDigest, verifiableAlgorithm } from "../digest/index.ts";
import {
  bareMediaType,
  type ByteRange,
  type Descriptor,
  descriptorSchema,
  imageIndexSchema,
  isManifestType,
  isSchema1Type,
  type ListOptions,
  MANIFEST_ACCEPT,
  MANIFEST_SIZE_MAX,
  type ManifestContent,
  MediaType,
  OciError,
  parseManifest,
  SCHEMA1_REFUSED,
} from "../oci/index.ts";
import { lookupCredentials } from "./auth-file.ts";
import { openUploadSession, sessionFrom, startUpload, type UploadOptions, type UploadSession, uploadBlob } from "./blob-upload.ts";
import type { Credentials } from "./credentials.ts";
import { registryEndpoint } from "./endpoint.ts";
import { responseError } from "./errors.ts";
import { nextLink } from "./link-header.ts";
import { checkRepositoryName } from "./repository-name.ts";
import { CATALOG_SCOPE, deleteScope, pullScope, pushScope } from "./scopes.ts";
import { loadTlsSettings, type TlsFileOptions } from "./tls-config.ts";
import { drain, RegistryTransport, type TransportOptions } from "./transport.ts";
import { toUploadSource, type UploadBody } from "./upload-source.ts";

export interface RegistryClientOptions extends TlsFileOptions, Omit<TransportOptions, "credentials" | "tls"> {
  /** Explicit credentials; without them the auth files are searched. */
  credentials?: Credentials;
  /** Read credentials from this file only (docker config.json or containers auth.json). */
  authFile?: string;
  /** Environment for DOCKER_CONFIG, REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME and credential helpers. */
  env?: Record<string, string | undefined>;
}

export type MountResult = { mounted: true } | { mounted: false; session?: UploadSession };

/** A page size registries accept (distribution's default catalog maximum). */
const PAGE_SIZE = 1000;

export class RegistryClient {
  readonly transport: RegistryTransport;

  constructor(transport: RegistryTransport) {
    this.transport = transport;
  }

  /** A client for `host[:port]`, with TLS material and credentials found the way docker and podman find them. */
  static open(registry: string, options: RegistryClientOptions = {}): RegistryClient {
    const endpoint = registryEndpoint(registry);
    const tls = loadTlsSettings(endpoint, options);
    const credentials = options.credentials ?? (() => lookupCredentials(endpoint, { env: options.env, authFile: options.authFile }));
    return new RegistryClient(new RegistryTransport(endpoint, { ...options, tls, credentials }));
  }

  get registry(): string {
    return this.transport.registry;
  }

  /** `GET /v2/`: true when something answering as a registry is there (200, or 401 asking for credentials). */
  async ping(): Promise<void> {
    const response = await this.transport.send({ method: "GET", url: "/v2/", scopes: [] });
    if (response.ok || response.status === 401) return drain(response);
    throw await responseError(response, `${this.registry} does not answer as a registry`);
  }

  /** Verify that the credentials are accepted (what `login` checks). */
  checkAccess(): Promise<void> {
    return this.transport.checkAccess();
  }

  /** HEAD a manifest: its descriptor, or undefined when absent. */
  async headManifest(repository: string, reference: string): Promise<Descriptor | undefined> {
    this.#checkName(repository);
    const response = await this.transport.send({
      method: "HEAD",
      url: manifestPath(repository, reference),
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (response.status === 404) return undefined;
    if (!response.ok) throw await responseError(response, this.#what(repository, reference), "MANIFEST_UNKNOWN");
    const digestHeader = response.headers.get("docker-content-digest");
    const mediaType = bareMediaType(response.headers.get("content-type"));
    const size = Number(response.headers.get("content-length") ?? "NaN");
    await drain(response);
    const digest = isDigest(reference) ? reference : digestHeader && isDigest(digestHeader) ? digestHeader : undefined;
    if (digest && mediaType && isManifestType(mediaType) && Number.isSafeInteger(size)) return { mediaType, digest, size };
    // Some registries leave out the digest or type on HEAD: the manifest itself tells.
    const content = await this.getManifest(repository, reference);
    return { mediaType: content.mediaType, digest: content.digest, size: content.bytes.byteLength };
  }

  /** GET a manifest by tag or digest: exact bytes, media type, digest (verified when asked by digest). */
  async getManifest(repository: string, reference: string): Promise<ManifestContent> {
    this.#checkName(repository);
    const what = this.#what(repository, reference);
    const response = await this.transport.send({
      method: "GET",
      url: manifestPath(repository, reference),
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (!response.ok) throw await responseError(response, what, "MANIFEST_UNKNOWN");
    const contentType = bareMediaType(response.headers.get("content-type"));
    const header = response.headers.get("docker-content-digest");
    const bytes = await readCapped(response, MANIFEST_SIZE_MAX, what);
    if (isSchema1Type(contentType)) throw new OciError("MANIFEST_INVALID", `${what}: ${SCHEMA1_REFUSED}`);
    let digest: Digest;
    if (isDigest(reference)) {
      digest = reference;
      if (isVerifiable(digest) && digestOf(bytes, verifiableAlgorithm(digest)) !== digest) {
        throw new OciError("DIGEST_INVALID", `${what}: the registry sent a manifest whose bytes do not match the digest`);
      }
    } else {
      const expected = header && isDigest(header) ? header : undefined;
      digest = digestOf(bytes, expected && isVerifiable(expected) ? verifiableAlgorithm(expected) : "sha256");
      if (expected && isVerifiable(expected) && expected !== digest) {
        throw new OciError("DIGEST_INVALID", `${what}: the registry says the manifest is ${expected}, its bytes hash to ${digest}`);
      }
    }
    const mediaType = contentType && isManifestType(contentType) ? contentType : parseManifest(bytes, contentType).mediaType;
    return { digest, mediaType, bytes };
  }

  /** PUT manifest bytes exactly as given, under a tag or their digest. */
  async putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }): Promise<Digest> {
    this.#checkName(repository);
    const digest = isDigest(reference) && isVerifiable(reference) ? digestOf(content.bytes, verifiableAlgorithm(reference)) : digestOf(content.bytes);
    if (isDigest(reference) && reference !== digest) {
      throw new OciError("DIGEST_INVALID", `Cannot push manifest: its bytes hash to ${digest}, not ${reference}`);
    }
    const response = await this.transport.send({
      method: "PUT",
      url: manifestPath(repository, reference),
      scopes: [pushScope(repository)],
      headers: { "content-type": content.mediaType },
      body: content.bytes,
    });
    if (response.status !== 201 && response.status !== 200) {
      throw await responseError(response, `Cannot push manifest ${this.registry}/${repository}:${reference}`, "MANIFEST_INVALID");
    }
    await drain(response);
    return digest;
  }

  async deleteManifest(repository: string, reference: string): Promise<void> {
    this.#checkName(repository);
    const response = await this.transport.send({ method: "DELETE", url: manifestPath(repository, reference), scopes: [deleteScope(repository)] });
    if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
      throw await responseError(response, `Cannot delete ${this.#what(repository, reference)}`, "MANIFEST_UNKNOWN");
    }
    await drain(response);
  }

  /** The blob's size when the repository has it. */
  async headBlob(repository: string, digest: Digest): Promise<number | undefined> {
    this.#checkName(repository);
    const response = await this.transport.send({ method: "HEAD", url: blobPath(repository, digest), scopes: [pullScope(repository)] });
    if (response.status === 404) return undefined;
    if (!response.ok) throw await responseError(response, this.#what(repository, digest), "BLOB_UNKNOWN");
    await drain(response);
    const size = Number(response.headers.get("content-length") ?? "NaN");
    if (!Number.isSafeInteger(size)) throw new OciError("UNKNOWN", `${this.#what(repository, digest)}: the registry did not say the blob's size`);
    return size;
  }

  /**
   * GET a blob (or a range of it) as a stream. The bytes are not verified
   * here: whoever stores or uses them hashes them.
   *
   * With the whole blob's `size`, the body is held to it: a registry that
   * announces another length is refused before a byte is read, and one
   * that sends no length gets its body cut off with an error past `size`.
   * A body with the right Content-Length is the fetch's own stream,
   * untouched (Bun can write it to a file without JavaScript).
   */
  async getBlob(repository: string, digest: Digest, range?: ByteRange, options: { size?: number; signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    this.#checkName(repository);
    const what = this.#what(repository, digest);
    const response = await this.transport.send({
      method: "GET",
      url: blobPath(repository, digest),
      scopes: [pullScope(repository)],
      headers: range ? { range: `bytes=${range.start}-${range.end - 1}` } : {},
      deadline: false,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) throw await responseError(response, what, "BLOB_UNKNOWN");
    if (!response.body) return new ReadableStream({ start: (c) => c.close() });
    if (range && response.status === 200) return response.body.pipeThrough(sliceStream(range));
    const { size } = options;
    if (range || size === undefined) return response.body;
    const length = response.headers.get("content-length");
    if (length === null) return response.body.pipeThrough(capStream(size, what));
    if (Number(length) !== size) {
      await response.body.cancel().catch(() => undefined);
      throw new OciError("SIZE_INVALID", `${what}: the registry sends ${length} bytes for a blob of ${size}`);
    }
    return response.body;
  }

  /** Open an upload session (`POST`). */
  async startUpload(repository: string): Promise<UploadSession> {
    this.#checkName(repository);
    return openUploadSession(this.transport, repository);
  }

  /**
   * Upload a blob. `body` may be a Blob (zero-copy, resumable), bytes, a
   * function `(offset) => body` (resumable), or a stream (sent once).
   * A declared size is held to: OciError SIZE_INVALID when the body has
   * another length, and nothing is committed.
   */
  async uploadBlob(
    repository: string,
    blob: { digest: Digest; size?: number },
    body: UploadBody | ((offset: number) => UploadBody),
    options?: UploadOptions,
  ): Promise<void> {
    this.#checkName(repository);
    const source = toUploadSource(body, blob.size, `Cannot upload ${blob.digest} to ${this.registry}/${repository}`);
    return uploadBlob(this.transport, repository, blob, source, options);
  }

  /**
   * Cross-repository mount. 201: done. 202: the registry could not mount
   * and opened an upload session instead, returned for the upload to use.
   */
  async mountBlob(repository: string, from: string | undefined, digest: Digest): Promise<MountResult> {
    this.#checkName(repository);
    if (from !== undefined) this.#checkName(from);
    const query = `?mount=${encodeURIComponent(digest)}${from ? `&from=${encodeURIComponent(from)}` : ""}`;
    const scopes = [pushScope(repository), ...(from && from !== repository ? [pullScope(from)] : [])];
    const response = await this.transport.send({ method: "POST", url: `/v2/${repository}/blobs/uploads/${query}`, scopes, headers: { "content-length": "0" } });
    if (response.status === 201) {
      await drain(response);
      return { mounted: true };
    }
    if (response.status === 202) return { mounted: false, session: await sessionFrom(this.transport, response, `Mount into ${this.registry}/${repository}`) };
    if (response.status === 401 || response.status === 403 || response.status === 404) {
      await drain(response);
      return { mounted: false };
    }
    throw await responseError(response, `Cannot mount ${digest} into ${this.registry}/${repository}`, "BLOB_UPLOAD_INVALID");
  }

  async deleteBlob(repository: string, digest: Digest): Promise<void> {
    this.#checkName(repository);
    const response = await this.transport.send({ method: "DELETE", url: blobPath(repository, digest), scopes: [deleteScope(repository)] });
    if (response.status !== 202 && response.status !== 200 && response.status !== 204) {
      throw await responseError(response, `Cannot delete ${this.#what(repository, digest)}`, "BLOB_UNKNOWN");
    }
    await drain(response);
  }

  /** Repository names (`/v2/_catalog`): sorted, after `last`, at most `limit`. */
  async repositories(options: ListOptions = {}): Promise<string[]> {
    return this.#list("/v2/_catalog", [CATALOG_SCOPE], "repositories", options, `Cannot list the repositories of ${this.registry}`);
  }

  /** Tags of a repository: sorted, after `last`, at most `limit`. */
  async tags(repository: string, options: ListOptions = {}): Promise<string[]> {
    this.#checkName(repository);
    const what = `Cannot list the tags of ${this.registry}/${repository}`;
    return this.#list(`/v2/${repository}/tags/list`, [pullScope(repository)], "tags", options, what, "NAME_UNKNOWN");
  }

  /**
   * Manifests that name `subject` (OCI referrers API). Registries without
   * the API answer 404; then the fallback tag `sha256-<hex>` holds an index
   * of them, as OCI 1.1 clients write it.
   */
  async referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    this.#checkName(repository);
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
    let url: string | undefined = `/v2/${repository}/referrers/${subject}${query}`;
    const found: Descriptor[] = [];
    let filtered = false;
    while (url) {
      const response = await this.transport.send({ method: "GET", url, scopes: [pullScope(repository)], headers: { accept: MediaType.ociIndex } });
      if (response.status === 404 && found.length === 0 && !(await isNameUnknown(response))) return this.#referrersByTag(repository, subject, artifactType);
      if (!response.ok) throw await responseError(response, `Cannot list referrers of ${this.#what(repository, subject)}`, "NAME_UNKNOWN");
      filtered = Boolean(response.headers.get("oci-filters-applied")?.includes("artifactType"));
      const link = nextLink(response.headers.get("link"));
      const bytes = await readCapped(response, MANIFEST_SIZE_MAX, "referrers");
      found.push(...parseReferrersIndex(bytes, `referrers of ${this.#what(repository, subject)}`));
      url = link;
    }
    return artifactType && !filtered ? found.filter((d) => d.artifactType === artifactType) : found;
  }

  /** Close idle connections. */
  close(): void {
    this.transport.close();
  }

  async #referrersByTag(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const tag = subject.replace(":", "-");
    let content: ManifestContent;
    try {
      content = await this.getManifest(repository, tag);
    } catch (error) {
      if (OciError.is(error, "MANIFEST_UNKNOWN") || OciError.is(error, "NAME_UNKNOWN")) return [];
      throw error;
    }
    const all = parseReferrersIndex(content.bytes, `referrers tag ${this.registry}/${repository}:${tag}`);
    return artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
  }

  /**
   * A list, paged with `n` and `last` and followed through `Link` headers,
   * but not taken on trust: distribution 2.8 ignores both on tag lists and
   * answers every tag in storage order. A page counts as a page only when it
   * keeps to what was asked (at most `n` names, sorted, all after `last`);
   * otherwise every page is read, and sorting, `last` and `limit` are
   * applied here.
   */
  async #list(
    path: string,
    scopes: string[],
    field: "repositories" | "tags",
    { last, limit }: ListOptions,
    what: string,
    notFound?: OciError["code"],
  ): Promise<string[]> {
    const n = pageSize(limit);
    const query = new URLSearchParams({ n: String(n) });
    if (last !== undefined) query.set("last", last);
    const found = new Set<string>();
    let paged = true;
    let url: string | undefined = `${path}?${query}`;
    const seen = new Set<string>();
    while (url && !seen.has(url)) {
      seen.add(url);
      const response = await this.transport.send({ method: "GET", url, scopes });
      if (!response.ok) throw await responseError(response, what, notFound);
      const link = nextLink(response.headers.get("link"));
      const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      const page = body?.[field] ?? [];
      if (!Array.isArray(page) || page.some((name) => typeof name !== "string")) {
        throw new OciError("UNKNOWN", `${what}: the registry answered with something other than a list of ${field}`);
      }
      const names = page as string[];
      if (names.length > n || !isAscending(names) || (last !== undefined && names.some((name) => name <= last))) paged = false;
      for (const name of names) if (last === undefined || name > last) found.add(name);
      if (paged && limit !== undefined && found.size >= limit) break;
      url = link;
    }
    const sorted = [...found].sort();
    return limit === undefined ? sorted : sorted.slice(0, Math.max(0, limit));
  }

  #checkName(repository: string): void {
    checkRepositoryName(this.registry, repository);
  }

  #what(repository: string, reference: string): string {
    return `${this.registry}/${repository}${isDigest(reference) ? "@" : ":"}${reference}`;
  }
}

function manifestPath(repository: string, reference: string): string {
  return `/v2/${repository}/manifests/${reference}`;
}

function blobPath(repository: string, digest: Digest): string {
  return `/v2/${repository}/blobs/${parseDigest(digest)}`;
}

function pageSize(limit: number | undefined): number {
  return Math.max(1, Math.min(limit ?? PAGE_SIZE, PAGE_SIZE));
}

function isAscending(names: string[]): boolean {
  return names.every((name, i) => i === 0 || names[i - 1]! < name);
}

async function isNameUnknown(response: Response): Promise<boolean> {
  const text = await response.text().catch(() => "");
  return /"NAME_UNKNOWN"/.test(text);
}

function parseReferrersIndex(bytes: Uint8Array, what: string): Descriptor[] {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new OciError("MANIFEST_INVALID", `${what}: not JSON`);
  }
  const parsed = imageIndexSchema.safeParse(json);
  if (!parsed.success) throw new OciError("MANIFEST_INVALID", `${what}: not an image index`);
  return parsed.data.manifests.map((m) => descriptorSchema.parse(m));
}

/** Read a body whole, refusing more than `max` bytes (manifests, lists: small by rule). */
async function readCapped(response: Response, max: number, what: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? "NaN");
  if (declared > max) {
    await response.body?.cancel();
    throw new OciError("MANIFEST_INVALID", `${what}: ${declared} bytes is more than the ${max} a manifest may have`, undefined, 413);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.byteLength;
    if (total > max) {
      await response.body?.cancel().catch(() => undefined);
      throw new OciError("MANIFEST_INVALID", `${what}: more than the ${max} bytes a manifest may have`, undefined, 413);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Fail a body that goes on past `size` bytes (one sent without a length). */
function capStream(size: number, what: string): TransformStream<Uint8Array, Uint8Array> {
  let position = 0;
  return new TransformStream({
    transform(chunk, controller) {
      position += chunk.byteLength;
      if (position > size) controller.error(new OciError("SIZE_INVALID", `${what}: the registry sends more than the blob's ${size} bytes`));
      else controller.enqueue(chunk);
    },
  });
}

/** Cut `range` out of a full body, for servers that ignore Range. */
function sliceStream(range: ByteRange): TransformStream<Uint8Array, Uint8Array> {
  let position = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const start = Math.max(range.start - position, 0);
      const end = Math.min(range.end - position, chunk.byteLength);
      if (start < end) controller.enqueue(chunk.subarray(start, end));
      position += chunk.byteLength;
    },
  });
}
