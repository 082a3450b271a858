/**
 * Blob uploads. With a known digest the fast path is `POST` then one
 * `PUT ?digest=` streaming the whole body (two requests, zero-copy for a
 * file). Chunked `PATCH` uploads with `Content-Range` are the fallback for
 * links that drop: after a failure the upload status (`GET`) says how many
 * bytes the registry holds, and the upload resumes there (also after a
 * 416). `OCI-Chunk-Min-Length` raises the chunk size.
 */
import type { Digest } from "../digest/index.ts";
import { OciError } from "../oci/index.ts";
import { responseError } from "./errors.ts";
import { pushScope } from "./scopes.ts";
import { drain, type RegistryTransport } from "./transport.ts";
import { bodyLength, chunksOf, type UploadBody, type UploadSource } from "./upload-source.ts";

export interface UploadSession {
  /** Absolute URL of the session; it changes with every chunk. */
  location: string;
  /** The registry's smallest chunk (`OCI-Chunk-Min-Length`), if it set one. */
  minChunkLength?: number;
}

export interface UploadOptions {
  /** Upload in chunks of this many bytes (raised to the registry's minimum) instead of one PUT. */
  chunkSize?: number;
  /** One `POST ?digest=` with the body: one request; falls back to a session when the registry opens one. */
  monolithicPost?: boolean;
  /** A session to use, e.g. the one a mount answered with 202. */
  session?: UploadSession;
  /** Attempts for the whole upload (resuming each time). Default 4. */
  attempts?: number;
  /**
   * With `chunkSize`: the bytes the registry holds, after each chunk it
   * confirmed. Lower again when an upload resumes from fewer bytes than
   * were confirmed, or starts over.
   */
  onProgress?: (committed: number) => void;
}

const OCTET = "application/octet-stream";

export async function startUpload(transport: RegistryTransport, repository: string, query = ""): Promise<Response> {
  return transport.send({ method: "POST", url: `/v2/${repository}/blobs/uploads/${query}`, scopes: [pushScope(repository)], headers: { "content-length": "0" } });
}

export async function sessionFrom(transport: RegistryTransport, response: Response, what: string): Promise<UploadSession> {
  const location = response.headers.get("location");
  if (!location) throw new OciError("BLOB_UPLOAD_INVALID", `${what}: the registry opened an upload without a Location`);
  const min = Number(response.headers.get("oci-chunk-min-length") ?? "");
  await drain(response);
  return {
    location: new URL(location, await transport.baseUrl()).href,
    ...(Number.isSafeInteger(min) && min > 0 ? { minChunkLength: min } : {}),
  };
}

export async function openUploadSession(transport: RegistryTransport, repository: string): Promise<UploadSession> {
  const what = `Cannot start an upload to ${transport.registry}/${repository}`;
  const response = await startUpload(transport, repository);
  if (response.status !== 202) throw await responseError(response, what, "NAME_UNKNOWN");
  return sessionFrom(transport, response, what);
}

function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.set("digest", digest);
  return url.href;
}

/**
 * Upload a blob; the registry verifies the digest and makes the blob visible
 * only on a match. The size is the source's to hold (see upload-source.ts):
 * when a body turns out to be of another size than declared, the request
 * is cut off, the session cancelled, and OciError SIZE_INVALID thrown.
 */
export async function uploadBlob(
  transport: RegistryTransport,
  repository: string,
  blob: { digest: Digest; size?: number },
  source: UploadSource,
  options: UploadOptions = {},
): Promise<void> {
  const what = `Cannot upload ${blob.digest} to ${transport.registry}/${repository}`;
  let session = options.session;
  let offset = 0;
  if (!session && options.monolithicPost) {
    const first = source.open(0);
    let response: Response;
    try {
      response = await transport.send({
        method: "POST",
        url: `/v2/${repository}/blobs/uploads/?digest=${encodeURIComponent(blob.digest)}`,
        scopes: [pushScope(repository)],
        headers: contentHeaders(first, blob.size),
        body: source.replayable ? onceThen(first, () => source.open(0)) : first,
        deadline: false,
        retry: false,
      });
    } catch (error) {
      throw source.sizeError() ?? error;
    }
    if (response.status === 201) return void (await drain(response));
    if (response.status !== 202) throw await responseError(response, what, "BLOB_UPLOAD_INVALID");
    // The registry opened a session instead of taking the body: send it again there.
    if (!source.replayable) throw new OciError("BLOB_UPLOAD_INVALID", `${what}: the registry does not accept single-request uploads and the body cannot be read again`);
    session = await sessionFrom(transport, response, what);
  }
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    const resumed = offset > 0;
    // Opening a session is an ordinary request the transport already retried: its failure is final.
    session ??= await openUploadSession(transport, repository);
    try {
      if (options.chunkSize) await sendChunks(transport, repository, session, blob, source, offset, options.chunkSize, what, options.onProgress);
      else await sendRest(transport, repository, session, blob, source, offset, what);
      return;
    } catch (error) {
      const sizeError = source.sizeError();
      if (sizeError) {
        // Whatever part of the body the registry holds must not linger as an open upload.
        await cancelUpload(transport, session, repository);
        throw sizeError;
      }
      if (attempt >= attempts || !source.replayable || !isWorthResuming(error, resumed)) throw error;
      // Ask the registry where it stands; a session it forgot means starting over.
      const status = await uploadStatus(transport, session, repository).catch(() => undefined);
      if (status && !(OciError.is(error, "DIGEST_INVALID"))) {
        session = status.session;
        offset = status.offset;
      } else {
        session = undefined;
        offset = 0;
      }
      if (options.chunkSize) options.onProgress?.(offset);
    }
  }
}

/**
 * Cancel an upload session (`DELETE`), best effort. distribution 2.8 refuses
 * it after a body was cut off (the session's signed offset no longer matches
 * what it stored) and leaves the parts to its upload purging; they are
 * never visible as a blob.
 */
export async function cancelUpload(transport: RegistryTransport, session: Pick<UploadSession, "location">, repository: string): Promise<void> {
  try {
    const response = await transport.send({ method: "DELETE", url: session.location, scopes: [pushScope(repository)] });
    await drain(response);
  } catch {
    // The upload expires on the registry's side anyway.
  }
}

/** Finish with one PUT carrying everything from `offset` on. */
async function sendRest(
  transport: RegistryTransport,
  repository: string,
  session: UploadSession,
  blob: { digest: Digest; size?: number },
  source: UploadSource,
  offset: number,
  what: string,
): Promise<void> {
  const first = source.open(offset);
  const remaining = blob.size === undefined ? undefined : blob.size - offset;
  const response = await transport.send({
    method: "PUT",
    url: withDigest(session.location, blob.digest),
    scopes: [pushScope(repository)],
    headers: contentHeaders(first, remaining),
    body: source.replayable ? onceThen(first, () => source.open(offset)) : first,
    deadline: false,
    retry: false,
  });
  if (response.status !== 201) throw await responseError(response, what, "BLOB_UPLOAD_INVALID");
  await drain(response);
}

async function sendChunks(
  transport: RegistryTransport,
  repository: string,
  session: UploadSession,
  blob: { digest: Digest; size?: number },
  source: UploadSource,
  offset: number,
  chunkSize: number,
  what: string,
  onProgress?: (committed: number) => void,
): Promise<void> {
  const size = Math.max(chunkSize, session.minChunkLength ?? 0);
  let location = session.location;
  for await (const chunk of chunksOf(source, offset, size)) {
    const length = bodyLength(chunk.body)!;
    let start = chunk.start;
    let body: Blob | Uint8Array = chunk.body;
    for (let tries = 0; ; tries++) {
      const response = await transport.send({
        method: "PATCH",
        url: location,
        scopes: [pushScope(repository)],
        headers: { "content-type": OCTET, "content-length": String(body instanceof Blob ? body.size : body.byteLength), "content-range": `${start}-${chunk.start + length - 1}` },
        body,
        deadline: false,
        retry: false,
      });
      if (response.status === 202) {
        location = new URL(response.headers.get("location") ?? location, location).href;
        session.location = location;
        await drain(response);
        break;
      }
      if (response.status !== 416 || tries >= 2) throw await responseError(response, what, "BLOB_UPLOAD_INVALID");
      // The registry holds a different amount than we thought: ask, and send from there.
      await drain(response);
      const status = await uploadStatus(transport, { location }, repository);
      location = status.session.location;
      session.location = location;
      if (status.offset >= chunk.start + length) break;
      if (status.offset < chunk.start) throw new OciError("RANGE_INVALID", `${what}: the registry lost bytes before ${chunk.start}`);
      start = status.offset;
      body = chunk.body instanceof Blob ? chunk.body.slice(status.offset - chunk.start) : chunk.body.subarray(status.offset - chunk.start);
    }
    onProgress?.(chunk.start + length);
  }
  const response = await transport.send({
    method: "PUT",
    url: withDigest(location, blob.digest),
    scopes: [pushScope(repository)],
    headers: { "content-length": "0" },
    deadline: false,
  });
  if (response.status !== 201) throw await responseError(response, what, "BLOB_UPLOAD_INVALID");
  await drain(response);
}

/** Where an upload stands: the next offset, and the session URL to continue with. */
export async function uploadStatus(
  transport: RegistryTransport,
  session: Pick<UploadSession, "location">,
  repository: string,
): Promise<{ offset: number; session: UploadSession }> {
  const response = await transport.send({ method: "GET", url: session.location, scopes: [pushScope(repository)] });
  if (response.status !== 204 && response.status !== 200) {
    throw await responseError(response, `Upload status at ${transport.registry}`, "BLOB_UPLOAD_UNKNOWN");
  }
  const range = /^(?:bytes=)?(\d+)-(\d+)$/.exec(response.headers.get("range")?.trim() ?? "");
  // "0-0" is what registries answer for an empty upload; an upload of one byte is rare enough to resend.
  const end = range ? Number(range[2]) : -1;
  const offset = range && !(range[1] === "0" && end === 0) ? end + 1 : 0;
  const location = new URL(response.headers.get("location") ?? session.location, session.location).href;
  await drain(response);
  return { offset, session: { location } };
}

function contentHeaders(body: UploadBody, declared?: number): Record<string, string> {
  const length = bodyLength(body) ?? declared;
  return { "content-type": OCTET, ...(length === undefined ? {} : { "content-length": String(length) }) };
}

/** The first call returns what was already opened; later calls open anew (retries, redirects). */
function onceThen(first: UploadBody, again: () => UploadBody): () => UploadBody {
  let used = false;
  return () => {
    if (used) return again();
    used = true;
    return first;
  };
}

function isWorthResuming(error: unknown, resumed: boolean): boolean {
  if (!(error instanceof OciError)) return false;
  // Network failures (UNAVAILABLE) and server trouble heal; a session the registry forgot is started anew.
  if (error.status >= 500 || error.status === 408 || error.status === 429 || error.code === "BLOB_UPLOAD_UNKNOWN") return true;
  // After a resume a refused digest may mean bytes were sent twice: start over once. Without one it is the content.
  return resumed && (error.code === "DIGEST_INVALID" || error.code === "BLOB_UPLOAD_INVALID");
}
