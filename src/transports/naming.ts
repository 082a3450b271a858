/**
 * Where a source image lands in a destination (the original `Wrap`):
 *
 *   docker.io/library/nginx:1.25 → docker://site:5000            library/nginx:1.25
 *                                → docker://site:5000 --prefix P  P/library/nginx:1.25
 *                                → oci:DIR, oci-archive:FILE      docker.io/library/nginx:1.25 (ref.name)
 *                                → docker://site:5000/app:7, oci:DIR:app:7   app:7
 *                                → docker://scan:5000/REPO --scan --tag-prefix 7.1.0
 *                                                                  REPO:7.1.0_library_nginx_1.25 (scan-naming.ts)
 *
 * A registry replaces the domain and keeps the path; a layout or archive
 * keeps the whole name, so it can be pushed anywhere later; a destination
 * that names one image names it. An image known only by digest lands
 * without a tag.
 */
import type { Reference } from "../reference/index.ts";
import type { Target } from "./endpoint.ts";
import { scanTag } from "./scan-naming.ts";

export type DestinationNaming =
  /** A registry or store: domain replaced, path kept, under an optional prefix. */
  | { kind: "registry"; prefix?: string }
  /** A layout or archive: the full reference, domain included. */
  | { kind: "full-name" }
  /** One image, named by the destination (no tag: by digest only). */
  | { kind: "image"; repository: string; tag?: string }
  /** Every image into one repository, tagged after its origin (scan copies). */
  | { kind: "scan"; repository: string; tagPrefix?: string };

export function destinationTarget(name: Reference, naming: DestinationNaming): Target {
  const tag = name.tag ? { tag: name.tag } : {};
  switch (naming.kind) {
    case "registry":
      return { repository: joinPath(naming.prefix, name.path), ...tag };
    case "full-name":
      return { repository: name.name, ...tag };
    case "image":
      return { repository: naming.repository, ...(naming.tag ? { tag: naming.tag } : {}) };
    case "scan":
      return { repository: naming.repository, tag: scanTag(name, naming.tagPrefix) };
  }
}

/** `a/b` + `c/d` → `a/b/c/d`, ignoring empty parts and stray slashes. */
export function joinPath(...parts: (string | undefined)[]): string {
  return parts
    .flatMap((p) => (p ?? "").split("/"))
    .filter((p) => p !== "")
    .join("/");
}
