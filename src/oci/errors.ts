/**
 * Errors are data: one type carries the OCI error code, and one table gives
 * each code its HTTP status and default message. The registry renders them
 * as the spec's JSON envelope; the CLI as one line and an exit code.
 */

/**
 * The error codes of the OCI distribution spec (its table lists fourteen:
 * drafts numbered them code-1 to code-15 with code-11 left out, which is
 * where a count of fifteen comes from), then the extras of the CNCF
 * distribution registry that clients also understand. Messages are the
 * spec's descriptions.
 */
export const ERROR_CODES = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_INVALID: { status: 400, message: "blob upload invalid" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  // 400, as distribution answers: the manifest is the bad input, not the URL.
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: "manifest references a manifest or blob unknown to registry" },
  MANIFEST_INVALID: { status: 400, message: "manifest invalid" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown to registry" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  SIZE_INVALID: { status: 400, message: "provided length did not match content length" },
  UNAUTHORIZED: { status: 401, message: "authentication required" },
  DENIED: { status: 403, message: "requested access to the resource is denied" },
  UNSUPPORTED: { status: 405, message: "the operation is unsupported" },
  TOOMANYREQUESTS: { status: 429, message: "too many requests" },
  // Not in the OCI table, but defined by distribution and understood by clients.
  TAG_INVALID: { status: 400, message: "manifest tag did not match URI" },
  RANGE_INVALID: { status: 416, message: "invalid content range" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  UNAVAILABLE: { status: 503, message: "service unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes the OCI distribution spec defines, in its order. */
export const OCI_SPEC_ERROR_CODES = [
  "BLOB_UNKNOWN",
  "BLOB_UPLOAD_INVALID",
  "BLOB_UPLOAD_UNKNOWN",
  "DIGEST_INVALID",
  "MANIFEST_BLOB_UNKNOWN",
  "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN",
  "NAME_INVALID",
  "NAME_UNKNOWN",
  "SIZE_INVALID",
  "UNAUTHORIZED",
  "DENIED",
  "UNSUPPORTED",
  "TOOMANYREQUESTS",
] as const satisfies readonly ErrorCode[];

export class OciError extends Error {
  override readonly name = "OciError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly detail?: unknown,
    /** Overrides the table's status (e.g. 507 for a full disk, 413 for a body too large). */
    status?: number,
  ) {
    super(message ?? ERROR_CODES[code].message);
    this.status = status ?? ERROR_CODES[code].status;
  }

  /** The spec's JSON error envelope. */
  toJSON(): { errors: { code: ErrorCode; message: string; detail?: unknown }[] } {
    return { errors: [{ code: this.code, message: this.message, ...(this.detail === undefined ? {} : { detail: this.detail }) }] };
  }

  static is(error: unknown, code?: ErrorCode): error is OciError {
    return error instanceof OciError && (code === undefined || error.code === code);
  }
}
