/**
 * One place renders every failure: the spec's JSON envelope with the
 * code's status. Anything that is not an OciError is a fault of ours: a
 * 500 with a generic message (the details go to the log, not the client).
 */
import { OciError } from "../oci/index.ts";
import { DISK_FULL_MESSAGE, isDiskFull } from "../store/disk-full.ts";

export const API_VERSION_HEADER = { "Docker-Distribution-API-Version": "registry/2.0" } as const;

export function errorResponse(error: OciError, headers: Record<string, string> = {}): Response {
  const body = JSON.stringify(error.toJSON());
  return new Response(body, {
    status: error.status,
    headers: {
      ...API_VERSION_HEADER,
      "Content-Type": "application/json; charset=utf-8",
      "Content-Length": String(Buffer.byteLength(body)),
      ...headers,
    },
  });
}

/**
 * Any thrown value as an OciError: ours as they are, a full disk (of the
 * blobs or of the metadata database) as 507 saying so, the rest as
 * UNKNOWN (500).
 */
export function asOciError(error: unknown): OciError {
  if (error instanceof OciError) return error;
  if (isDiskFull(error)) return new OciError("UNAVAILABLE", DISK_FULL_MESSAGE, undefined, 507);
  return new OciError("UNKNOWN", "internal server error");
}
