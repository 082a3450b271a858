/**
 * Scan copies (the original `ScanningImageService`): every image of a
 * release goes into ONE repository, so an external scanner sees them all
 * in one place, tagged after where it came from:
 *
 *   <prefix>_<repository path, / as _>_<tag>
 *   docker.io/library/nginx:1.25  --tag-prefix 7.1.0   →  7.1.0_library_nginx_1.25
 *   quay.io/acme/tool@sha256:0123…                       →  7.1.0_acme_tool_sha256-0123456789abcdef
 *
 * - The domain is left out, as a registry destination leaves it out: the
 *   path is what names the image on the site.
 * - An image known only by digest gets `sha256-` and the first 16 hex
 *   digits of its source digest in place of the tag (cosign's style), so
 *   it is still visible to the scanner under a stable name.
 * - A tag is at most 128 characters. A longer one keeps its first 117 and
 *   ends in `-` and 10 hex digits of the SHA-256 of the whole long tag:
 *   the same image always gets the same tag, and two long names that
 *   share a beginning still differ.
 */
import { digestOf, encodedOf } from "../digest/index.ts";
import { patterns, type Reference } from "../reference/index.ts";
import { TransportError } from "./errors.ts";

export const TAG_LENGTH_MAX = 128;
const HASH_LENGTH = 10;
const DIGEST_CHARS = 16;

export function scanTag(name: Reference, tagPrefix?: string): string {
  const path = name.path.split("/").join("_");
  const version = name.tag ?? digestPart(name);
  const tag = [tagPrefix, path, version].filter((p) => p !== undefined && p !== "").join("_");
  if (tag.length <= TAG_LENGTH_MAX) return tag;
  const hash = encodedOf(digestOf(tag)).slice(0, HASH_LENGTH);
  return `${tag.slice(0, TAG_LENGTH_MAX - HASH_LENGTH - 1)}-${hash}`;
}

function digestPart(name: Reference): string {
  if (!name.digest) throw new TransportError("invalid-spec", `${name.toString()} has neither a tag nor a digest`);
  const [algorithm, hex] = name.digest.split(":") as [string, string];
  return `${algorithm}-${hex.slice(0, DIGEST_CHARS)}`;
}

/** A tag prefix must itself start a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]*`. */
export function checkTagPrefix(prefix: string): void {
  if (prefix.length > 64 || !patterns.ANCHORED_TAG.test(prefix)) {
    throw new TransportError("invalid-spec", `Invalid tag prefix ${JSON.stringify(prefix.slice(0, 100))}: use letters, digits, _ . - (not first), at most 64 characters`);
  }
}
