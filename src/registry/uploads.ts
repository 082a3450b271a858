/**
 * Blob uploads: POST (a session, a single-request upload with ?digest=, or
 * a mount with ?mount=&from=), PATCH chunks, PUT to finish, GET status,
 * DELETE to cancel. Digests are verified by the home while bytes stream.
 */
import type { Digest } from "../digest/index.ts";
import { canMount, OciError } from "../oci/index.ts";
import { type ChunkBounds, canUpload, type UploadSessions } from "../store/index.ts";
import { contentLength, requestBody } from "./body.ts";
import { type HandlerContext, digestParam, empty, writableHome } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { parseContentRange, uploadedRange } from "./http-range.ts";
import { checkName } from "./routes.ts";

function isValidName(name: string): boolean {
  try {
    checkName(name);
    return true;
  } catch {
    return false;
  }
}

function sessions(ctx: HandlerContext): UploadSessions {
  const home = writableHome(ctx);
  if (!canUpload(home)) throw new OciError("UNSUPPORTED", "this registry takes blobs only in a single request (POST with ?digest=)");
  return home;
}

const uploadLocation = (name: string, id: string) => `/v2/${name}/blobs/uploads/${id}`;

function sessionResponse(status: number, name: string, id: string, offset: number, extra: Record<string, string | number> = {}) {
  return empty(status, {
    Location: uploadLocation(name, id),
    Range: uploadedRange(offset),
    "Docker-Upload-UUID": id,
    ...extra,
  });
}

function created(name: string, digest: Digest): Response {
  return empty(201, { Location: `/v2/${name}/blobs/${digest}`, "Docker-Content-Digest": digest });
}

export async function startUpload(ctx: HandlerContext, name: string): Promise<Response> {
  const home = writableHome(ctx);
  const query = ctx.url.searchParams;
  const mount = query.get("mount");
  if (mount !== null) {
    const digest = digestParam(mount, "mount digest");
    const from = query.get("from") ?? undefined;
    // A `from` that is no repository name only means the blob cannot be
    // mounted from there: as distribution does, open a session instead of
    // failing a push that would succeed by uploading.
    const mountable = from === undefined || isValidName(from);
    if (mountable && canMount(home) && (await home.mountBlob(name, from, digest))) return created(name, digest);
    // Not mountable: the client uploads instead, into the session we open now.
  }
  const digestText = query.get("digest");
  if (digestText !== null) {
    const digest = digestParam(digestText);
    const size = contentLength(ctx.request);
    const body = requestBody(ctx.request) ?? emptyStream();
    await home.putBlob(name, { digest, ...(size === undefined ? {} : { size }) }, body);
    return created(name, digest);
  }
  const uploads = sessions(ctx);
  const { id, offset } = await uploads.startUpload(name);
  const hint: Record<string, number> = uploads.chunkMinLength > 0 ? { "OCI-Chunk-Min-Length": uploads.chunkMinLength } : {};
  return sessionResponse(202, name, id, offset, hint);
}

export async function uploadStatus(ctx: HandlerContext, name: string, id: string): Promise<Response> {
  const { offset } = await sessions(ctx).uploadStatus(name, id);
  return sessionResponse(204, name, id, offset);
}

export async function patchUpload(ctx: HandlerContext, name: string, id: string): Promise<Response> {
  const uploads = sessions(ctx);
  return withRangeRecovery(uploads, name, id, async () => {
    const bounds = chunkBounds(ctx.request);
    const { offset } = await uploads.appendUpload(name, id, requestBody(ctx.request) ?? emptyStream(), bounds);
    return sessionResponse(202, name, id, offset);
  });
}

export async function putUpload(ctx: HandlerContext, name: string, id: string): Promise<Response> {
  const uploads = sessions(ctx);
  const digest = digestParam(ctx.url.searchParams.get("digest"), "digest query parameter");
  return withRangeRecovery(uploads, name, id, async () => {
    const bounds = chunkBounds(ctx.request);
    // A PUT without a body (Content-Length: 0) only closes the session.
    const body = bounds.length === 0 ? undefined : requestBody(ctx.request);
    await uploads.finishUpload(name, id, digest, body, bounds);
    return created(name, digest);
  });
}

export async function cancelUpload(ctx: HandlerContext, name: string, id: string): Promise<Response> {
  await sessions(ctx).cancelUpload(name, id);
  return empty(204);
}

/** Content-Range and Content-Length of a chunk; they must agree. */
function chunkBounds(request: Request): ChunkBounds {
  const length = contentLength(request);
  const header = request.headers.get("content-range");
  if (header === null) return length === undefined ? {} : { length };
  const range = parseContentRange(header);
  if (length !== undefined && length !== range.length) {
    throw new OciError("RANGE_INVALID", `Content-Range covers ${range.length} bytes but Content-Length is ${length}`);
  }
  return range;
}

/** On 416 the client needs to know where the session stands: Range and Location of the current state. */
async function withRangeRecovery(uploads: UploadSessions, name: string, id: string, fn: () => Promise<Response>): Promise<Response> {
  try {
    return await fn();
  } catch (error) {
    if (!OciError.is(error, "RANGE_INVALID")) throw error;
    const status = await uploads.uploadStatus(name, id).catch(() => undefined);
    if (!status) throw error;
    return errorResponse(error, {
      Location: uploadLocation(name, id),
      Range: uploadedRange(status.offset),
      "Docker-Upload-UUID": id,
    });
  }
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}
