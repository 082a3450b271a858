/**
 * Digest values: `algorithm ":" encoded`, as the OCI image spec and the
 * distribution reference grammar define them.
 *
 *   digest     := algorithm ":" hex
 *   algorithm  := component ([+._-] component)*     component := [A-Za-z][A-Za-z0-9]*
 *   hex        := [0-9a-fA-F]{32,}
 *
 * That is the pattern of the reference grammar, and what DIGEST_PATTERN
 * matches (so that routes and references compose from it). A digest is
 * well-formed when, in addition, its algorithm is lowercase, as the OCI
 * image spec requires (`[a-z0-9]+` components) and go-digest checks.
 *
 * Registered algorithms are checked strictly (sha256: 64 lowercase hex,
 * sha384: 96, sha512: 128). Other well-formed algorithms parse, so that
 * content we cannot verify still round-trips, but `isVerifiable` is false
 * and hashing them is a clear error.
 */

/** A digest string that passed `parseDigest`. */
export type Digest = string & { readonly __digest: unique symbol };

/** The unanchored digest pattern, for composing routes and references. */
export const DIGEST_PATTERN = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const ANCHORED_DIGEST = new RegExp(`^${DIGEST_PATTERN}$`);

/** Algorithms we can hash, with the length of their lowercase hex encoding. */
export const REGISTERED_ALGORITHMS = { sha256: 64, sha384: 96, sha512: 128 } as const;
export type RegisteredAlgorithm = keyof typeof REGISTERED_ALGORITHMS;

export class DigestError extends Error {
  override readonly name = "DigestError";
  /** The exact short message ("invalid digest format", ...). */
  constructor(
    message: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(message);
  }
  /** A one-line explanation naming the value and the rule it broke. */
  describe(): string {
    return `${this.message}: ${JSON.stringify(truncate(this.value))}: ${this.reason}`;
  }
}

export const INVALID_DIGEST_FORMAT = "invalid digest format";
export const UNSUPPORTED_DIGEST_ALGORITHM = "unsupported digest algorithm";

/** The longest digest string we accept: far above any real one (sha512 is 135), and cheap to check. */
export const DIGEST_LENGTH_MAX = 1024;

/** Parse and validate a digest string; throws DigestError. */
export function parseDigest(value: string): Digest {
  const reason = invalidReason(value);
  if (reason !== undefined) throw new DigestError(INVALID_DIGEST_FORMAT, String(value), reason);
  return value as Digest;
}

/**
 * Like parseDigest, but returns undefined instead of throwing. It builds no
 * error: it runs on hot paths (is this reference a tag or a digest?), and
 * an Error captures a stack trace.
 */
export function tryParseDigest(value: string): Digest | undefined {
  return invalidReason(value) === undefined ? (value as Digest) : undefined;
}

/** Why a string is not a digest, or undefined when it is one. */
function invalidReason(value: string): string | undefined {
  if (typeof value !== "string" || value.length > DIGEST_LENGTH_MAX || !ANCHORED_DIGEST.test(value)) {
    return "expected algorithm:hex with at least 32 hex characters";
  }
  const colon = value.indexOf(":");
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  if (algorithm !== algorithm.toLowerCase()) return "the algorithm must be lowercase";
  // Object.hasOwn: "constructor" or "__proto__" must not count as registered.
  const expected = Object.hasOwn(REGISTERED_ALGORITHMS, algorithm)
    ? REGISTERED_ALGORITHMS[algorithm as RegisteredAlgorithm]
    : undefined;
  if (expected !== undefined) {
    if (encoded.length !== expected) return `${algorithm} needs ${expected} hex characters, got ${encoded.length}`;
    if (!/^[a-f0-9]+$/.test(encoded)) return `${algorithm} hex must be lowercase`;
  }
  return undefined;
}

export function isDigest(value: string): value is Digest {
  return tryParseDigest(value) !== undefined;
}

export function algorithmOf(digest: Digest): string {
  return digest.slice(0, digest.indexOf(":"));
}

export function encodedOf(digest: Digest): string {
  return digest.slice(digest.indexOf(":") + 1);
}

/** True when we can hash this digest's algorithm. */
export function isVerifiable(digest: Digest): boolean {
  return Object.hasOwn(REGISTERED_ALGORITHMS, algorithmOf(digest));
}

/** The algorithm of a digest we must verify; throws for ones we cannot. */
export function verifiableAlgorithm(digest: Digest): RegisteredAlgorithm {
  const algorithm = algorithmOf(digest);
  if (!Object.hasOwn(REGISTERED_ALGORITHMS, algorithm)) {
    throw new DigestError(
      UNSUPPORTED_DIGEST_ALGORITHM,
      digest,
      `cannot verify ${algorithm}; supported: ${Object.keys(REGISTERED_ALGORITHMS).join(", ")}`,
    );
  }
  return algorithm as RegisteredAlgorithm;
}

function truncate(value: string): string {
  return value.length > 200 ? `${value.slice(0, 200)}…` : value;
}
