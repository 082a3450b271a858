/**
 * The admin API's one error type: a code, a message and an HTTP status,
 * rendered by one handler as `{"error": {"code", "message"}}`.
 */
export type AdminErrorCode =
  | "UNAUTHORIZED"
  | "INVALID_REQUEST"
  | "NOT_FOUND"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "JOB_FINISHED"
  | "PAYLOAD_TOO_LARGE"
  | "NOT_IMPLEMENTED"
  | "UNAVAILABLE"
  | "INTERNAL";

const STATUS: Record<AdminErrorCode, number> = {
  UNAUTHORIZED: 401,
  INVALID_REQUEST: 400,
  NOT_FOUND: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  JOB_FINISHED: 409,
  PAYLOAD_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
  INTERNAL: 500,
};

export class AdminError extends Error {
  override readonly name = "AdminError";
  readonly status: number;

  constructor(
    readonly code: AdminErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = STATUS[code];
  }

  response(headers: Record<string, string> = {}): Response {
    return jsonResponse({ error: { code: this.code, message: this.message, ...(this.details ?? {}) } }, this.status, headers);
  }
}

export function jsonResponse(value: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...headers },
  });
}
