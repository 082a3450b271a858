/**
 * A small, fast Distribution API client for crash and load tests: pushes
 * generated images over plain fetch in the three upload styles real
 * clients use (one POST with ?digest=, POST then PUT, chunked PATCHes),
 * and pulls them back checking every digest. No retries, no auth dance:
 * a failure is reported as it happened, so a test can tell which pushes
 * were acknowledged.
 *
 *   const client = new PushClient(serve.url);
 *   if (await client.pushImage("app", "1.0", image, "chunked")) acknowledged.push(...);
 *   await client.pullImage("app", "1.0", image.descriptor.digest);   // throws on any mismatch
 */
import { type Digest, digestOf } from "../../src/digest/index.ts";
import type { GeneratedBlob, GeneratedManifest } from "./images.ts";

export type UploadStyle = "monolithic" | "post-put" | "chunked";
export const UPLOAD_STYLES: readonly UploadStyle[] = ["monolithic", "post-put", "chunked"];

export class PushError extends Error {
  override readonly name = "PushError";
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface PushClientOptions {
  /** Sent as Authorization on every request. */
  authorization?: string;
  /** Bytes per PATCH in the chunked style (default 64 KiB). */
  chunkSize?: number;
  signal?: AbortSignal;
}

export class PushClient {
  readonly #headers: Record<string, string>;
  readonly #chunk: number;

  constructor(
    readonly baseUrl: string,
    readonly options: PushClientOptions = {},
  ) {
    this.#headers = options.authorization ? { Authorization: options.authorization } : {};
    this.#chunk = options.chunkSize ?? 64 * 1024;
  }

  async #fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = path.startsWith("http") ? path : `${this.baseUrl}${path}`;
    return fetch(url, {
      ...init,
      headers: { ...this.#headers, ...(init.headers as Record<string, string> | undefined) },
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
  }

  async #expect(response: Response, status: number, what: string): Promise<Response> {
    if (response.status === status) return response;
    const body = await response.text().catch(() => "");
    throw new PushError(`${what}: ${response.status} ${body.slice(0, 300)}`, response.status);
  }

  /** HEAD the blob; true when the registry has it in `repository`. */
  async hasBlob(repository: string, digest: Digest): Promise<boolean> {
    const response = await this.#fetch(`/v2/${repository}/blobs/${digest}`, { method: "HEAD" });
    return response.status === 200;
  }

  async pushBlob(repository: string, blob: GeneratedBlob, style: UploadStyle): Promise<void> {
    const { digest, size } = blob.descriptor;
    const what = `push ${digest} to ${repository} (${style})`;
    if (style === "monolithic") {
      const response = await this.#fetch(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
        method: "POST",
        body: blob.bytes,
        headers: { "Content-Type": "application/octet-stream", "Content-Length": String(size) },
      });
      // Registries without single-request uploads (distribution) answer with a session: PUT into it.
      if (response.status !== 202) {
        await this.#expect(response, 201, what);
        return;
      }
      await response.arrayBuffer();
      return this.#putInto(response.headers.get("location")!, blob, what);
    }
    const start = await this.#expect(await this.#fetch(`/v2/${repository}/blobs/uploads/`, { method: "POST" }), 202, what);
    let location = start.headers.get("location")!;
    if (style === "chunked") {
      for (let offset = 0; offset < size; offset += this.#chunk) {
        const chunk = blob.bytes.subarray(offset, Math.min(size, offset + this.#chunk));
        const response = await this.#fetch(location, {
          method: "PATCH",
          body: chunk,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Range": `${offset}-${offset + chunk.byteLength - 1}`,
            "Content-Length": String(chunk.byteLength),
          },
        });
        await this.#expect(response, 202, what);
        location = response.headers.get("location")!;
      }
      const separator = location.includes("?") ? "&" : "?";
      const done = await this.#fetch(`${location}${separator}digest=${digest}`, { method: "PUT", headers: { "Content-Length": "0" } });
      await this.#expect(done, 201, what);
      return;
    }
    return this.#putInto(location, blob, what);
  }

  async #putInto(location: string, blob: GeneratedBlob, what: string): Promise<void> {
    const separator = location.includes("?") ? "&" : "?";
    const done = await this.#fetch(`${location}${separator}digest=${blob.descriptor.digest}`, {
      method: "PUT",
      body: blob.bytes,
      headers: { "Content-Type": "application/octet-stream", "Content-Length": String(blob.descriptor.size) },
    });
    await this.#expect(done, 201, what);
  }

  /** PUT a manifest; resolves with the digest the registry answered. */
  async pushManifest(repository: string, reference: string, manifest: { bytes: Uint8Array; descriptor: { mediaType: string } }): Promise<Digest> {
    const response = await this.#fetch(`/v2/${repository}/manifests/${reference}`, {
      method: "PUT",
      body: manifest.bytes as Uint8Array<ArrayBuffer>,
      headers: { "Content-Type": manifest.descriptor.mediaType },
    });
    await this.#expect(response, 201, `push manifest ${reference} to ${repository}`);
    return response.headers.get("docker-content-digest") as Digest;
  }

  /**
   * Push an image (or index) the way registries need it: blobs (skipping
   * what HEAD finds), children by digest, then the root under `tag`.
   * Resolves once the registry answered 201 to the root manifest.
   */
  async pushImage(repository: string, tag: string, image: GeneratedManifest, style: UploadStyle): Promise<void> {
    for (const child of image.children) await this.#pushTree(repository, child, style);
    for (const blob of image.blobs) {
      if (!(await this.hasBlob(repository, blob.descriptor.digest))) await this.pushBlob(repository, blob, style);
    }
    const digest = await this.pushManifest(repository, tag, image);
    if (digest !== image.descriptor.digest) throw new PushError(`the registry stored ${tag} as ${digest}, not ${image.descriptor.digest}`);
  }

  async #pushTree(repository: string, node: GeneratedManifest, style: UploadStyle): Promise<void> {
    for (const child of node.children) await this.#pushTree(repository, child, style);
    for (const blob of node.blobs) {
      if (!(await this.hasBlob(repository, blob.descriptor.digest))) await this.pushBlob(repository, blob, style);
    }
    await this.pushManifest(repository, node.descriptor.digest, node);
  }

  /**
   * Pull `reference` and everything below it, checking each manifest and
   * blob against its digest. Throws naming the first thing that is wrong.
   */
  async pullImage(repository: string, reference: string, expected: Digest): Promise<void> {
    const seen = new Set<string>();
    const manifest = async (ref: string, want: Digest): Promise<void> => {
      const response = await this.#fetch(`/v2/${repository}/manifests/${ref}`, {
        headers: {
          Accept: [
            "application/vnd.oci.image.manifest.v1+json",
            "application/vnd.oci.image.index.v1+json",
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json",
          ].join(", "),
        },
      });
      await this.#expect(response, 200, `pull manifest ${repository}:${ref}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const actual = digestOf(bytes);
      if (actual !== want) throw new PushError(`manifest ${repository}:${ref} hashes to ${actual}, not ${want}`);
      const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
        manifests?: { digest: Digest }[];
        config?: { digest: Digest; size: number };
        layers?: { digest: Digest; size: number }[];
      };
      for (const child of parsed.manifests ?? []) await manifest(child.digest, child.digest);
      for (const d of [...(parsed.config ? [parsed.config] : []), ...(parsed.layers ?? [])]) {
        if (seen.has(d.digest)) continue;
        seen.add(d.digest);
        await this.pullBlob(repository, d.digest, d.size);
      }
    };
    await manifest(reference, expected);
  }

  /** GET a blob, hashing it as it streams; throws on a wrong size or digest. */
  async pullBlob(repository: string, digest: Digest, size: number): Promise<void> {
    const response = await this.#fetch(`/v2/${repository}/blobs/${digest}`);
    await this.#expect(response, 200, `pull blob ${digest} from ${repository}`);
    const hasher = new Bun.CryptoHasher("sha256");
    let length = 0;
    for await (const chunk of response.body!) {
      hasher.update(chunk);
      length += chunk.byteLength;
    }
    const actual = `sha256:${hasher.digest("hex")}`;
    if (length !== size || actual !== digest) {
      throw new PushError(`blob ${digest} in ${repository}: got ${length} bytes hashing to ${actual}, expected ${size}`);
    }
  }
}

/** Every blob of a manifest tree (children's too), each once. */
export function treeBlobs(image: GeneratedManifest): GeneratedBlob[] {
  const out = new Map<string, GeneratedBlob>();
  const walk = (m: GeneratedManifest) => {
    for (const b of m.blobs) out.set(b.descriptor.digest, b);
    m.children.forEach(walk);
  };
  walk(image);
  return [...out.values()];
}
