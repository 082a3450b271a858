/**
 * How an index.json entry names its image. Tools disagree, so readers
 * accept all of them:
 *
 *   io.containerd.image.name            docker.io/library/nginx:1.25   (containerd, preferred)
 *   org.opencontainers.image.ref.name   docker.io/library/nginx:1.25   (stevedore bundles)
 *                                       nginx:1.25                     (skopeo writes what it is given)
 *                                       1.25                           (a bare tag: the OCI spec's own use)
 *
 * The repository is kept exactly as written (`nginx` stays `nginx`), so a
 * name written through the home reads back the same; a bare tag belongs to
 * the layout's tag repository, named on the command line or after the
 * layout's file name. `normalisedName` gives the full reference used to
 * name the image elsewhere.
 */
import { Annotation } from "../../oci/index.ts";
import { Reference, parseNormalizedReference, parseReference, parseTag } from "../../reference/index.ts";
import type { Digest } from "../../digest/index.ts";

export interface EntryName {
  repository: string;
  /** Absent for an entry that names a repository and digest only. */
  tag?: string;
  /** True when the entry carried a bare tag. */
  bare: boolean;
}

/** The name of an index entry, or undefined when it has none we can read. */
export function entryName(annotations: Record<string, string> | undefined, tagRepository: string): EntryName | undefined {
  if (!annotations) return undefined;
  const containerd = annotations[Annotation.containerdImageName];
  const fromContainerd = containerd === undefined ? undefined : splitRefName(containerd, tagRepository);
  if (fromContainerd && !fromContainerd.bare) return fromContainerd;
  const refName = annotations[Annotation.refName];
  return refName === undefined ? fromContainerd : splitRefName(refName, tagRepository);
}

/** Split one ref.name value. */
export function splitRefName(value: string, tagRepository: string): EntryName | undefined {
  if (/[/:@]/.test(value)) {
    try {
      const ref = parseReference(value);
      return { repository: ref.name, ...(ref.tag ? { tag: ref.tag } : {}), bare: false };
    } catch {
      return undefined;
    }
  }
  try {
    return { repository: tagRepository, tag: parseTag(value), bare: true };
  } catch {
    return undefined;
  }
}

/** The ref.name to write for a repository and tag (the inverse of splitRefName). */
export function joinRefName(repository: string, tag: string, tagRepository: string): string {
  return repository === tagRepository ? tag : `${repository}:${tag}`;
}

/**
 * The full reference of an image known by repository and tag or digest:
 * docker normalisation for names that have a repository of their own, none
 * for the layout's tag repository (which has no domain to invent).
 */
export function normalisedName(repository: string, reference: { tag?: string; digest?: Digest }, tagRepository: string): Reference {
  // The tag repository keeps an empty domain: its whole name is a path.
  let ref = repository === tagRepository ? new Reference("", repository) : parseNormalizedReference(repository).withoutTagOrDigest();
  if (reference.tag) ref = ref.withTag(reference.tag);
  if (reference.digest) ref = ref.withDigest(reference.digest);
  return ref;
}

/**
 * A repository name for bare tags, from a file or directory name:
 * `/media/My App-1.2.tar` gives `my-app-1.2`.
 */
export function repositoryFromPath(path: string): string {
  const base = path.replace(/\/+$/, "").split("/").pop() ?? "";
  const stem = base.replace(/\.(tar|oci|tgz|tar\.gz)$/i, "");
  const cleaned = stem
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+|[._-]+$/g, "")
    .replace(/[._-]*([._])[._-]*/g, "$1")
    .replace(/-{2,}/g, "-");
  return cleaned || "image";
}
