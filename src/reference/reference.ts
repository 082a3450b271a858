/**
 * Image references: parsing exactly as distribution/reference does, and the
 * docker normalisation on top (docker.io, library/).
 *
 * Where this parser knowingly differs from distribution/reference:
 * - The 255-character limit applies to the whole name, domain included, and
 *   after normalisation (`busybox` counts as `docker.io/library/busybox`).
 *   That is what docker and containers/image (skopeo, podman) enforce; newer
 *   distribution/reference releases count the path only.
 * - A well-formed digest with an algorithm we cannot hash parses (Go:
 *   "unsupported digest algorithm"); whoever must verify it gets the error.
 * - Every error carries one of the seven messages of REFERENCE_ERRORS. Go's
 *   other messages map to the closest one:
 *     "invalid checksum digest length", "invalid checksum digest format",
 *     "unsupported digest algorithm" (for a malformed one)  -> invalid digest format
 *     "invalid repository name (…), cannot specify 64-byte hexadecimal strings"
 *                                                          -> invalid reference format
 *     "invalid reference format: repository name (…) must be lowercase"
 *                                                          -> repository name must be lowercase
 *     "reference … has no name" (cannot happen after normalisation)
 *                                                          -> invalid reference format
 */
import { type Digest, DigestError, isVerifiable, parseDigest, tryParseDigest } from "../digest/index.ts";
import { REFERENCE_ERRORS as E, ReferenceError } from "./errors.ts";
import { ANCHORED_IDENTIFIER, ANCHORED_NAME, ANCHORED_REFERENCE, ANCHORED_TAG } from "./regexp.ts";

export const NAME_TOTAL_LENGTH_MAX = 255;
export const DEFAULT_DOMAIN = "docker.io";
export const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
export const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";

/** A named reference: domain (may be empty before normalisation), path, tag, digest. */
export class Reference {
  constructor(
    readonly domain: string,
    readonly path: string,
    readonly tag?: string,
    readonly digest?: Digest,
  ) {}

  /** The repository name: `domain/path`, or `path` without a domain. */
  get name(): string {
    return this.domain ? `${this.domain}/${this.path}` : this.path;
  }

  toString(): string {
    return this.name + (this.tag ? `:${this.tag}` : "") + (this.digest ? `@${this.digest}` : "");
  }

  /**
   * The short form docker prints: `busybox` for `docker.io/library/busybox`.
   * Like docker's, it does not always read back as the same name: on
   * docker.io, a path whose first component looks like a domain
   * (`docker.io/foo.bar/baz` -> `foo.bar/baz`) reads back on that domain.
   * Use `toString()` wherever the text must be parsed again.
   */
  get familiarName(): string {
    if (this.domain !== DEFAULT_DOMAIN) return this.name;
    const rest = this.path.startsWith(OFFICIAL_REPO_PREFIX) ? this.path.slice(OFFICIAL_REPO_PREFIX.length) : "";
    return rest && !rest.includes("/") ? rest : this.path;
  }

  familiarString(): string {
    return this.familiarName + (this.tag ? `:${this.tag}` : "") + (this.digest ? `@${this.digest}` : "");
  }

  withTag(tag: string): Reference {
    if (!ANCHORED_TAG.test(tag)) throw new ReferenceError(E.invalidTag, tag, "a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
    return new Reference(this.domain, this.path, tag, this.digest);
  }

  withDigest(digest: Digest): Reference {
    return new Reference(this.domain, this.path, this.tag, toReferenceDigest(digest, digest));
  }

  withoutTagOrDigest(): Reference {
    return new Reference(this.domain, this.path);
  }

  /** Adds `latest` when there is neither tag nor digest (an explicit step, as in docker). */
  withDefaultTag(): Reference {
    return this.tag || this.digest ? this : new Reference(this.domain, this.path, DEFAULT_TAG);
  }

  /**
   * What docker pulls: the digest alone when there is one (a tag beside it
   * only decorates), else the tag, `latest` when there is none.
   */
  dockerReference(): Reference {
    return this.digest ? new Reference(this.domain, this.path, undefined, this.digest) : this.withDefaultTag();
  }

  /** True when `other` names the same repository, tag and digest. */
  equals(other: Reference): boolean {
    return (
      this.domain === other.domain && this.path === other.path && this.tag === other.tag && this.digest === other.digest
    );
  }

  /** The tag or digest that selects the image (digest wins), if any. */
  get selector(): string | undefined {
    return this.digest ?? this.tag;
  }
}

/** A reference that is only a digest (from `parseAnyReference`). */
export class DigestReference {
  constructor(readonly digest: Digest) {}
  toString(): string {
    return this.digest;
  }
}

/**
 * Parse a reference with no normalisation (distribution's `Parse`): the
 * domain is whatever the grammar finds before the first `/`.
 */
export function parseReference(input: string): Reference {
  if (input === "") throw new ReferenceError(E.empty, input, "the reference is empty");
  const match = ANCHORED_REFERENCE.exec(input);
  if (!match) {
    const lower = input.toLowerCase();
    // Only uppercase stood in the way: say so rather than "invalid format".
    if (lower !== input && ANCHORED_REFERENCE.test(lower)) {
      throw new ReferenceError(E.uppercase, input, "path components are lowercase [a-z0-9] with separators");
    }
    throw new ReferenceError(E.invalidFormat, input, "expected [domain/]path[:tag][@digest]");
  }
  const [, name = "", tag, digestText] = match;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(E.tooLong, input, `the name has ${name.length} characters`);
  }
  const digest = digestText === undefined ? undefined : toReferenceDigest(digestText, input);
  const nameMatch = ANCHORED_NAME.exec(name);
  const domain = nameMatch?.[1] ?? "";
  const path = nameMatch?.[2] ?? name;
  return new Reference(domain, path, tag, digest);
}

/**
 * Parse a repository name alone, with no tag or digest and no
 * normalisation (distribution's `WithName`).
 */
export function parseName(input: string): Reference {
  const match = ANCHORED_NAME.exec(input);
  if (!match) throw new ReferenceError(E.invalidFormat, input, "expected [domain/]path with no tag or digest");
  if (input.length > NAME_TOTAL_LENGTH_MAX) {
    throw new ReferenceError(E.tooLong, input, `the name has ${input.length} characters`);
  }
  return new Reference(match[1] ?? "", match[2] ?? input);
}

/**
 * Parse a reference the way `docker pull` reads it: a first component is a
 * domain only if it contains `.` or `:`, is `localhost`, or has uppercase
 * letters; otherwise the domain is docker.io, and single-component names
 * there get `library/`.
 */
export function parseNormalizedReference(input: string): Reference {
  if (ANCHORED_IDENTIFIER.test(input)) {
    throw new ReferenceError(E.invalidFormat, input, "a 64-hex identifier is not a repository name");
  }
  const [domain, remainder] = splitDockerDomain(input);
  const colon = remainder.indexOf(":");
  const remoteName = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remoteName.toLowerCase() !== remoteName) {
    throw new ReferenceError(E.uppercase, input, `the path ${JSON.stringify(remoteName)} has uppercase letters`);
  }
  try {
    return parseReference(`${domain}/${remainder}`);
  } catch (error) {
    // Errors describe what the user typed, not our normalised form.
    if (error instanceof ReferenceError) throw new ReferenceError(error.message, input, error.reason);
    throw error;
  }
}

/** Parse a reference that must already be in canonical (fully normalised) form. */
export function parseCanonicalReference(input: string): Reference {
  const ref = parseNormalizedReference(input);
  if (ref.toString() !== input) {
    throw new ReferenceError(E.notCanonical, input, `the canonical form is ${JSON.stringify(ref.toString())}`);
  }
  return ref;
}

/**
 * Parse anything docker accepts where an image is expected: a 64-hex
 * identifier (as sha256), a bare digest, or a normalised reference.
 *
 * A digest whose algorithm we cannot hash is taken as a digest only when it
 * is not also a name: `app:0123…cdef` (a 32-hex tag, as CI systems write)
 * is the image `app` with that tag, as docker reads it.
 */
export function parseAnyReference(input: string): Reference | DigestReference {
  if (ANCHORED_IDENTIFIER.test(input)) return new DigestReference(`sha256:${input}` as Digest);
  const digest = tryParseDigest(input);
  if (digest && isVerifiable(digest)) return new DigestReference(digest);
  try {
    return parseNormalizedReference(input);
  } catch (error) {
    if (digest) return new DigestReference(digest);
    throw error;
  }
}

/**
 * Parse the way docker pulls (distribution's `ParseDockerRef`): normalised,
 * `latest` when there is neither tag nor digest, and the digest alone when
 * there are both.
 */
export function parseDockerReference(input: string): Reference {
  return parseNormalizedReference(input).dockerReference();
}

/** Validate a tag on its own. */
export function parseTag(input: string): string {
  if (!ANCHORED_TAG.test(input)) {
    throw new ReferenceError(E.invalidTag, input, "a tag is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  }
  return input;
}

/** A digest inside a reference: DigestError becomes ReferenceError "invalid digest format". */
function toReferenceDigest(text: string, input: string): Digest {
  try {
    return parseDigest(text);
  } catch (error) {
    if (error instanceof DigestError) throw new ReferenceError(E.invalidDigest, input, error.reason);
    throw error;
  }
}

function splitDockerDomain(input: string): [string, string] {
  const slash = input.indexOf("/");
  const first = slash >= 0 ? input.slice(0, slash) : "";
  let domain: string;
  let remainder: string;
  if (slash < 0 || (!/[.:]/.test(first) && first !== "localhost" && first.toLowerCase() === first)) {
    domain = DEFAULT_DOMAIN;
    remainder = input;
  } else {
    domain = first;
    remainder = input.slice(slash + 1);
  }
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !remainder.includes("/")) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return [domain, remainder];
}
