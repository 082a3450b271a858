/**
 * The Distribution API's routes. Repository names contain slashes, so one
 * catch-all handler takes every /v2/ path and this matcher splits it: the
 * endpoint keyword is found at the end, the name is what precedes it, and
 * the name is then checked against the reference grammar — so a bad name
 * gets NAME_INVALID rather than a bare 404.
 *
 * Paths are matched as they came in, never percent-decoded: an encoded
 * slash or dot in a name cannot pass the grammar. (`..` segments are
 * resolved by the URL parser before a request reaches us.) The last
 * segment (tag, digest, upload id) is decoded, for clients that encode
 * the colon of a digest.
 */
import { NAME_TOTAL_LENGTH_MAX, patterns } from "../reference/index.ts";
import { OciError } from "../oci/index.ts";

export type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; id: string }
  | { kind: "referrers"; name: string; digest: string };

/** Which methods each endpoint answers (HEAD is served by the GET handler). */
export const METHODS: Record<Route["kind"], readonly string[]> = {
  base: ["GET", "HEAD"],
  catalog: ["GET", "HEAD"],
  tags: ["GET", "HEAD"],
  manifest: ["GET", "HEAD", "PUT", "DELETE"],
  blob: ["GET", "HEAD", "DELETE"],
  uploads: ["POST"],
  upload: ["GET", "HEAD", "PATCH", "PUT", "DELETE"],
  referrers: ["GET", "HEAD"],
};

const SHAPES: [RegExp, (name: string, last: string) => Route][] = [
  [/^\/v2\/(.+)\/tags\/list$/, (name) => ({ kind: "tags", name })],
  [/^\/v2\/(.+)\/manifests\/([^/]+)$/, (name, reference) => ({ kind: "manifest", name, reference })],
  [/^\/v2\/(.+)\/blobs\/uploads\/?$/, (name) => ({ kind: "uploads", name })],
  [/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, (name, id) => ({ kind: "upload", name, id })],
  [/^\/v2\/(.+)\/blobs\/([^/]+)$/, (name, digest) => ({ kind: "blob", name, digest })],
  [/^\/v2\/(.+)\/referrers\/([^/]+)$/, (name, digest) => ({ kind: "referrers", name, digest })],
];

/**
 * The route for a raw URL path, or undefined when it is no API endpoint.
 * Throws OciError NAME_INVALID when the endpoint is known but the name is not valid.
 */
export function matchRoute(path: string): Route | undefined {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  if (path === "/v2/_catalog") return { kind: "catalog" };
  for (const [pattern, make] of SHAPES) {
    const match = pattern.exec(path);
    if (!match) continue;
    const name = match[1]!;
    checkName(name);
    return make(name, decodeSegment(match[2] ?? ""));
  }
  return undefined;
}

export function checkName(name: string): void {
  if (name.length > NAME_TOTAL_LENGTH_MAX || !patterns.ANCHORED_REMOTE_NAME.test(name)) {
    const shown = name.length > 300 ? `${name.slice(0, 300)}…` : name;
    throw new OciError("NAME_INVALID", `invalid repository name ${JSON.stringify(shown)}`, { name: shown });
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment; // not valid percent-encoding: left as is, and refused by the grammar later
  }
}

/** The raw path of a request URL, exactly as sent (no decoding). */
export function rawPath(url: string): string {
  const start = url.indexOf("/", url.indexOf("://") + 3);
  if (start < 0) return "/";
  const end = url.search(/[?#]/);
  return end < 0 || end < start ? url.slice(start) : url.slice(start, end);
}
