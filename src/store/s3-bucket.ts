/**
 * One bucket (and key prefix) of an S3-compatible object store. Reads,
 * small writes, deletes, listings and presigned URLs go through Bun's
 * built-in S3 client; multipart uploads and server-side copies, which that
 * client does not expose with their upload ids, are signed requests
 * (s3-signature.ts) over fetch.
 *
 * Servers differ in small ways; this file does not rely on:
 * - the ETag of CompleteMultipartUpload (Ceph RGW answers an empty one);
 * - a 200 meaning success for Complete and Copy (S3 may answer 200 with an
 *   <Error> body when it fails late), so those bodies are checked.
 */
import { type S3Location } from "./s3-location.ts";
import { sha256Hex, signRequest, uriEncode } from "./s3-signature.ts";

export class S3Error extends Error {
  override readonly name = "S3Error";
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

export interface UploadedPart {
  partNumber: number;
  etag: string;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** ms since the epoch */
  modified: number;
}

export interface MultipartInfo {
  key: string;
  uploadId: string;
  /** ms since the epoch */
  initiated: number;
}

/** S3's limit for a single PUT or CopyObject. */
export const SINGLE_OPERATION_MAX = 5 * 1024 ** 3;

export class S3Bucket {
  readonly client: Bun.S3Client;

  constructor(readonly location: S3Location) {
    this.client = new Bun.S3Client({
      bucket: location.bucket,
      endpoint: location.endpoint,
      region: location.region,
      accessKeyId: location.credentials.accessKeyId,
      secretAccessKey: location.credentials.secretAccessKey,
      ...(location.credentials.sessionToken ? { sessionToken: location.credentials.sessionToken } : {}),
      virtualHostedStyle: false,
    });
  }

  /** The full key of `name` under the prefix. */
  key(name: string): string {
    return this.location.prefix ? `${this.location.prefix}/${name}` : name;
  }

  file(key: string): Bun.S3File {
    return this.client.file(key);
  }

  /** Size and modification time, or undefined when there is no such object. */
  async stat(key: string): Promise<{ size: number; modified: number } | undefined> {
    try {
      const s = await this.client.stat(key);
      return { size: s.size, modified: s.lastModified.getTime() };
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.delete(key);
    } catch (error) {
      if (!isNoSuchKey(error)) throw error;
    }
  }

  async write(key: string, bytes: Uint8Array): Promise<void> {
    await this.client.write(key, bytes, { type: "application/octet-stream" });
  }

  /** Objects whose keys start with `prefix` (a full key prefix), in key order. */
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let continuationToken: string | undefined;
    do {
      const page = await this.client.list({ prefix, ...(continuationToken ? { continuationToken } : {}) });
      for (const o of page.contents ?? []) {
        yield { key: o.key, size: o.size ?? 0, modified: o.lastModified ? Date.parse(o.lastModified) : 0 };
      }
      continuationToken = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (continuationToken);
  }

  /** Fail with a clear message when the bucket is missing or the keys do not open it. */
  async check(): Promise<void> {
    try {
      await this.client.list({ prefix: this.key(""), maxKeys: 1 });
    } catch (error) {
      const code = (error as { code?: string }).code ?? (error as Error).message;
      throw new Error(`cannot list s3://${this.location.bucket} at ${this.location.endpoint}: ${code}`);
    }
  }

  presign(key: string, expiresIn: number): string {
    return this.client.presign(key, { method: "GET", expiresIn });
  }

  // --- signed requests ------------------------------------------------------

  async createBucket(): Promise<void> {
    try {
      await this.#request("PUT", "", {});
    } catch (error) {
      if (error instanceof S3Error && (error.code === "BucketAlreadyOwnedByYou" || error.code === "BucketAlreadyExists")) return;
      throw error;
    }
  }

  async createMultipart(key: string): Promise<string> {
    const response = await this.#request("POST", key, { query: { uploads: "" }, headers: { "content-type": "application/octet-stream" } });
    const uploadId = xmlValue(await response.text(), "UploadId");
    if (!uploadId) throw new S3Error(`CreateMultipartUpload of ${key} answered no UploadId`, response.status, "InvalidResponse");
    return uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, bytes: Uint8Array): Promise<string> {
    const response = await this.#request("PUT", key, {
      query: { partNumber: String(partNumber), uploadId },
      body: bytes,
      headers: { "content-length": String(bytes.byteLength) },
    });
    await response.arrayBuffer();
    const etag = response.headers.get("etag");
    if (!etag) throw new S3Error(`UploadPart ${partNumber} of ${key} answered no ETag`, response.status, "InvalidResponse");
    return etag;
  }

  /** Copy `sourceKey` (or a byte range of it, `end` exclusive) into a part. */
  async uploadPartCopy(key: string, uploadId: string, partNumber: number, sourceKey: string, range?: { start: number; end: number }): Promise<string> {
    const response = await this.#request("PUT", key, {
      query: { partNumber: String(partNumber), uploadId },
      headers: {
        "x-amz-copy-source": this.#copySource(sourceKey),
        ...(range ? { "x-amz-copy-source-range": `bytes=${range.start}-${range.end - 1}` } : {}),
      },
    });
    const text = await response.text();
    throwIfErrorBody(text, response.status, `UploadPartCopy into ${key}`);
    const etag = xmlValue(text, "ETag");
    if (!etag) throw new S3Error(`UploadPartCopy into ${key} answered no ETag`, response.status, "InvalidResponse");
    return etag;
  }

  async completeMultipart(key: string, uploadId: string, parts: UploadedPart[]): Promise<void> {
    const body = `<CompleteMultipartUpload>${parts
      .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
      .join("")}</CompleteMultipartUpload>`;
    const bytes = new TextEncoder().encode(body);
    const response = await this.#request("POST", key, {
      query: { uploadId },
      body: bytes,
      payloadHash: sha256Hex(bytes),
      headers: { "content-type": "application/xml" },
    });
    throwIfErrorBody(await response.text(), response.status, `CompleteMultipartUpload of ${key}`);
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.#request("DELETE", key, { query: { uploadId } });
    } catch (error) {
      if (!(error instanceof S3Error && error.code === "NoSuchUpload")) throw error;
    }
  }

  /** Server-side copy of an object of at most 5 GiB. */
  async copyObject(sourceKey: string, key: string, options: { replaceMetadata?: boolean } = {}): Promise<void> {
    const response = await this.#request("PUT", key, {
      headers: {
        "x-amz-copy-source": this.#copySource(sourceKey),
        ...(options.replaceMetadata ? { "x-amz-metadata-directive": "REPLACE", "content-type": "application/octet-stream" } : {}),
      },
    });
    throwIfErrorBody(await response.text(), response.status, `CopyObject to ${key}`);
  }

  /** Multipart uploads in progress under a full key prefix. */
  async *listMultipartUploads(prefix: string): AsyncIterable<MultipartInfo> {
    let keyMarker = "";
    let uploadIdMarker = "";
    for (;;) {
      const query: Record<string, string> = { uploads: "", prefix };
      if (keyMarker) query["key-marker"] = keyMarker;
      if (uploadIdMarker) query["upload-id-marker"] = uploadIdMarker;
      const text = await (await this.#request("GET", "", { query })).text();
      for (const upload of text.match(/<Upload>[\s\S]*?<\/Upload>/g) ?? []) {
        const key = xmlValue(upload, "Key");
        const uploadId = xmlValue(upload, "UploadId");
        if (key && uploadId) yield { key, uploadId, initiated: Date.parse(xmlValue(upload, "Initiated") ?? "") || 0 };
      }
      if (xmlValue(text, "IsTruncated") !== "true") return;
      keyMarker = xmlValue(text, "NextKeyMarker") ?? "";
      uploadIdMarker = xmlValue(text, "NextUploadIdMarker") ?? "";
      if (!keyMarker && !uploadIdMarker) return;
    }
  }

  #copySource(sourceKey: string): string {
    return `/${this.location.bucket}/${sourceKey.split("/").map(uriEncode).join("/")}`;
  }

  async #request(
    method: string,
    key: string,
    options: { query?: Record<string, string>; headers?: Record<string, string>; body?: Uint8Array; payloadHash?: string },
  ): Promise<Response> {
    const path = `/${this.location.bucket}${key ? `/${key.split("/").map(uriEncode).join("/")}` : ""}`;
    const url = new URL(path, this.location.endpoint);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const headers = signRequest({
      method,
      url,
      region: this.location.region,
      credentials: this.location.credentials,
      headers: options.headers ?? {},
      ...(options.payloadHash ? { payloadHash: options.payloadHash } : {}),
    });
    // URLSearchParams writes `uploads=`; S3 signs and expects the bare `uploads`, and accepts both on the wire.
    const response = await fetch(url, { method, headers, ...(options.body ? { body: options.body as Uint8Array<ArrayBuffer> } : {}) });
    if (!response.ok) {
      const text = await response.text();
      const code = xmlValue(text, "Code") ?? `HTTP${response.status}`;
      throw new S3Error(`S3 ${method} ${key || this.location.bucket} failed: ${code} (${response.status})`, response.status, code);
    }
    return response;
  }
}

export function isNoSuchKey(error: unknown): boolean {
  const e = error as { code?: string; name?: string; status?: number } | null;
  return e?.code === "NoSuchKey" || e?.code === "NotFound" || e?.name === "NoSuchKey" || (e instanceof S3Error && e.status === 404);
}

function throwIfErrorBody(text: string, status: number, what: string): void {
  if (!/<Error>/.test(text)) return;
  const code = xmlValue(text, "Code") ?? "InternalError";
  throw new S3Error(`${what} failed: ${code}`, status, code);
}

function xmlValue(text: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(text);
  return match ? unescapeXml(match[1]!) : undefined;
}

function unescapeXml(text: string): string {
  return text.replace(/&(quot|amp|lt|gt|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case "quot":
        return '"';
      case "amp":
        return "&";
      case "lt":
        return "<";
      case "gt":
        return ">";
      case "apos":
        return "'";
      default:
        return String.fromCodePoint(e.startsWith("#x") ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
