/**
 * The images a bundle holds, from the command line and image list files
 * (the list formats are transports' image-list.ts, shared with `gc --keep`
 * and `rewrite`).
 */
import { formatPlatform, type Platform } from "../oci/index.ts";
import type { Reference } from "../reference/index.ts";
import { ImageListError, parseListedReference } from "../transports/index.ts";

export { ImageListError, parseImageList } from "../transports/index.ts";

export interface ImageRequest {
  /** Normalised; `latest` added when neither a tag nor a digest was given. A digest pins the content. */
  name: Reference;
  /** Where it was named: `images.txt:3`, or `argument 2`. */
  origin: string;
  /** Platforms to keep of a multi-arch image, when the list says (else the run's --platform). */
  platforms?: Platform[];
}

/** The value of `org.opencontainers.image.ref.name`: the full name with its tag, or with its digest when it has no tag. */
export function refNameOf(name: Reference): string {
  return name.tag ? `${name.name}:${name.tag}` : `${name.name}@${name.digest}`;
}

/** References given as command-line arguments. */
export function imagesFromArguments(args: string[]): ImageRequest[] {
  return args.map((text, i) => ({ name: parseListedReference(text, `argument ${i + 1}`), origin: `argument ${i + 1}` }));
}

/**
 * One request per name: exact repeats are dropped; the same name asked
 * for twice with different digests or platforms is an error naming both.
 */
export function dedupeImages(requests: ImageRequest[]): ImageRequest[] {
  const byName = new Map<string, ImageRequest>();
  const key = (r: ImageRequest) => `${r.name.digest ?? ""} ${(r.platforms ?? []).map(formatPlatform).join(",")}`;
  for (const r of requests) {
    const refName = refNameOf(r.name);
    const first = byName.get(refName);
    if (!first) byName.set(refName, r);
    else if (key(first) !== key(r)) {
      throw new ImageListError(r.origin, `${refName} is also named at ${first.origin}, with a different digest or platforms`);
    }
  }
  return [...byName.values()];
}
