/**
 * Shared helpers for the reference tables: what a parse produced, as one
 * plain object that a single toEqual can check.
 */
import { type Reference, ReferenceError } from "../../../src/reference/index.ts";

export const HEX64 = "0123456789abcdef".repeat(4);
export const F64 = "f".repeat(64);
export const SHA256 = `sha256:${HEX64}`;
export const SHA384 = `sha384:${"ab".repeat(48)}`;
export const SHA512 = `sha512:${"f".repeat(128)}`;

export type Outcome =
  | { domain: string; path: string; tag?: string; digest?: string }
  | { error: string };

/** The parts of a parsed reference, or the message it was refused with. */
export function outcome(parse: () => Reference): Outcome {
  try {
    const ref = parse();
    return {
      domain: ref.domain,
      path: ref.path,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      ...(ref.digest === undefined ? {} : { digest: ref.digest }),
    };
  } catch (error) {
    if (error instanceof ReferenceError) return { error: error.message };
    throw error;
  }
}

export const ok = (domain: string, path: string, tag?: string, digest?: string): Outcome => ({
  domain,
  path,
  ...(tag === undefined ? {} : { tag }),
  ...(digest === undefined ? {} : { digest }),
});
export const fail = (error: string): Outcome => ({ error });

export const INVALID_FORMAT = fail("invalid reference format");
export const INVALID_TAG = fail("invalid tag format");
export const INVALID_DIGEST = fail("invalid digest format");
export const UPPERCASE = fail("repository name must be lowercase");
export const EMPTY = fail("repository name must have at least one component");
export const TOO_LONG = fail("repository name must not be more than 255 characters");
export const NOT_CANONICAL = fail("repository name must be canonical");
