/** What every handler receives, and the checks they share. */
import { type Digest, DigestError, parseDigest } from "../digest/index.ts";
import { canDelete, type ContentDeleter, type ImageHome, type ImageReader, isWritable, OciError } from "../oci/index.ts";
import { API_VERSION_HEADER } from "./errors.ts";

export interface RegistryOptions {
  /** Refuse every write (405 UNSUPPORTED), even over a writable home. */
  readOnly?: boolean;
  /** Refuse deletes of manifests, tags and blobs (405 UNSUPPORTED). */
  noDelete?: boolean;
  /** Told of every manifest served by GET (not HEAD): last-pull times. */
  onPull?: (repository: string, digest: Digest) => void;
  /**
   * Answer blob GETs with a redirect (307) to a URL of the blob's own
   * store (an object store's presigned URL), when the home has one.
   */
  blobRedirect?: boolean;
}

export interface HandlerContext {
  home: ImageReader;
  options: RegistryOptions;
  request: Request;
  url: URL;
  /** GET, HEAD, PUT, … (HEAD is answered by the GET handlers without a body). */
  method: string;
}

export function writableHome(ctx: HandlerContext): ImageHome {
  if (ctx.options.readOnly || !isWritable(ctx.home)) {
    throw new OciError("UNSUPPORTED", "this registry is read-only");
  }
  return ctx.home as ImageHome;
}

export function deletingHome(ctx: HandlerContext): ContentDeleter {
  if (ctx.options.readOnly || !canDelete(ctx.home)) throw new OciError("UNSUPPORTED", "this registry is read-only");
  if (ctx.options.noDelete) throw new OciError("UNSUPPORTED", "deletes are disabled on this registry");
  return ctx.home;
}

/** A digest from a path or query; DIGEST_INVALID (400) when malformed. */
export function digestParam(value: string | undefined | null, what = "digest"): Digest {
  if (!value) throw new OciError("DIGEST_INVALID", `missing ${what}`);
  try {
    return parseDigest(value);
  } catch (error) {
    if (error instanceof DigestError) throw new OciError("DIGEST_INVALID", `invalid ${what}: ${error.describe()}`);
    throw error;
  }
}

/** Response headers every answer carries, plus `extra`. */
export function headers(extra: Record<string, string | number>): Record<string, string> {
  const out: Record<string, string> = { ...API_VERSION_HEADER };
  for (const [k, v] of Object.entries(extra)) out[k] = String(v);
  return out;
}

/** An empty answer with explicit Content-Length: 0. */
export function empty(status: number, extra: Record<string, string | number> = {}): Response {
  return new Response(null, { status, headers: headers({ "Content-Length": 0, ...extra }) });
}

export function json(value: unknown, extra: Record<string, string | number> = {}, status = 200): Response {
  const body = JSON.stringify(value);
  return new Response(body, {
    status,
    headers: headers({ "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body), ...extra }),
  });
}

/** True when If-None-Match names this ETag (or is `*`). */
export function notModified(request: Request, etag: string): boolean {
  const header = request.headers.get("if-none-match");
  if (!header) return false;
  return header.split(",").some((t) => {
    const v = t.trim().replace(/^W\//, "");
    return v === etag || v === "*";
  });
}
