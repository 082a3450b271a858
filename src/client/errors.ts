/**
 * Registry answers and network failures as OciError: the registry's JSON
 * error envelope gives the code when it has one; otherwise the status and
 * what was asked decide. Messages name the registry.
 */
import { ERROR_CODES, type ErrorCode, OciError } from "../oci/index.ts";

interface Envelope {
  errors?: { code?: unknown; message?: unknown; detail?: unknown }[];
}

/** Read an error response (bounded) and turn it into an OciError. */
export async function responseError(response: Response, what: string, fallback?: ErrorCode): Promise<OciError> {
  let text = "";
  try {
    text = (await response.text()).slice(0, 8192);
  } catch {
    // The body is only decoration for the message.
  }
  return errorFromBody(response.status, text, what, fallback);
}

export function errorFromBody(status: number, text: string, what: string, fallback?: ErrorCode): OciError {
  let envelope: Envelope | undefined;
  try {
    envelope = JSON.parse(text) as Envelope;
  } catch {
    envelope = undefined;
  }
  const first = Array.isArray(envelope?.errors) ? envelope.errors[0] : undefined;
  const rawCode = typeof first?.code === "string" ? first.code.toUpperCase() : undefined;
  const code: ErrorCode = rawCode && rawCode in ERROR_CODES ? (rawCode as ErrorCode) : codeForStatus(status, fallback);
  const registryMessage = typeof first?.message === "string" && first.message ? first.message : undefined;
  const base = registryMessage ?? (rawCode ? rawCode.toLowerCase() : (ERROR_CODES[code].message as string));
  const message = `${what}: ${base}${status === 404 || status === 401 || status === 403 ? "" : ` (HTTP ${status})`}`;
  return new OciError(code, message, first?.detail, status);
}

function codeForStatus(status: number, fallback?: ErrorCode): ErrorCode {
  if (status === 401) return "UNAUTHORIZED";
  if (status === 403) return "DENIED";
  if (status === 429) return "TOOMANYREQUESTS";
  if (status === 405) return "UNSUPPORTED";
  if (status === 416) return "RANGE_INVALID";
  if (fallback && (status === 404 || status === 400)) return fallback;
  if (status === 503 || status === 502 || status === 504) return "UNAVAILABLE";
  return "UNKNOWN";
}

/** A request that never got an HTTP answer. */
export function networkError(host: string, error: unknown): OciError {
  const e = error as { code?: unknown; message?: unknown; name?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : String(error);
  let reason = message;
  if (e?.name === "TimeoutError") reason = "timed out";
  else if (/ConnectionRefused|ECONNREFUSED/i.test(`${code} ${message}`)) reason = "connection refused";
  else if (/ConnectionClosed|ECONNRESET|socket.*closed/i.test(`${code} ${message}`)) reason = "connection closed by the server";
  else if (/ENOTFOUND|getaddrinfo|DNS/i.test(`${code} ${message}`)) reason = "host name not found";
  else if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i.test(`${code} ${message}`)) {
    reason = `TLS certificate not trusted (${code || message}); pass --ca-cert FILE, or --insecure to skip verification`;
  } else if (code && !message.includes(code)) reason = `${message} (${code})`;
  return new OciError("UNAVAILABLE", `Cannot reach registry ${host}: ${reason}`, undefined, 503);
}
