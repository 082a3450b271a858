/**
 * Where site images came from. `--reverse` maps a site reference back to
 * its origin; the site path alone does not say which registry that was
 * (quay.io/x/y and docker.io/x/y both land at site/x/y), so an image list
 * or a bundle tells: each full reference there is one origin.
 */
import { parseNormalizedReference, type Reference, ReferenceError } from "../reference/index.ts";
import { RewriteError } from "./errors.ts";

export interface Origin {
  /** The normalised reference. */
  ref: Reference;
  /** Its name as written (`nginx`, `docker.io/library/nginx`, `quay.io/x/y`), reused when mapping back. */
  written: string;
  /** Where it was read, for messages: `images.txt:3`. */
  source: string;
}

export class Origins {
  readonly #byPath = new Map<string, Origin[]>();
  /** Names the origins in messages: the list or bundle they were read from. */
  readonly description: string;

  constructor(description: string) {
    this.description = description;
  }

  get size(): number {
    let n = 0;
    for (const list of this.#byPath.values()) n += list.length;
    return n;
  }

  /** Add one reference as written in a list or an annotation. Throws RewriteError when it is not a reference. */
  add(text: string, source: string): void {
    let ref: Reference;
    try {
      ref = parseNormalizedReference(text);
    } catch (error) {
      if (error instanceof ReferenceError) throw new RewriteError(`${source}: ${error.describe()}`);
      throw error;
    }
    const list = this.#byPath.get(ref.path) ?? [];
    list.push({ ref, written: writtenName(text), source });
    this.#byPath.set(ref.path, list);
  }

  /**
   * The origin of a site image whose origin path is `path`. Several origin
   * registries for one path are narrowed by the exact tag or digest; what
   * stays ambiguous, or is not listed at all, is an error.
   */
  lookup(path: string, shown: string, tag?: string, digest?: string): Origin {
    const all = this.#byPath.get(path);
    if (!all?.length) {
      throw new RewriteError(`${JSON.stringify(shown)} is not in ${this.description}: cannot tell where it came from`);
    }
    const names = distinctNames(all);
    if (names.size === 1) return pickEntry(all, tag, digest);
    const exact = all.filter((o) => (digest !== undefined && o.ref.digest === digest) || (digest === undefined && tag !== undefined && o.ref.tag === tag));
    if (exact.length && distinctNames(exact).size === 1) return exact[0]!;
    const candidates = [...names.values()].map((o) => `${o.ref.name} (${o.source})`);
    throw new RewriteError(`${JSON.stringify(shown)} is ambiguous: it may come from ${candidates.join(" or ")}`);
  }
}

function distinctNames(list: Origin[]): Map<string, Origin> {
  const names = new Map<string, Origin>();
  for (const o of list) if (!names.has(o.ref.name)) names.set(o.ref.name, o);
  return names;
}

/** Among entries of one name, prefer the one written with the same tag or digest, so its form is reused. */
function pickEntry(list: Origin[], tag?: string, digest?: string): Origin {
  return list.find((o) => (digest !== undefined && o.ref.digest === digest) || (tag !== undefined && o.ref.tag === tag)) ?? list[0]!;
}

/** The name part of a reference as written: without `@digest` and without `:tag`. */
export function writtenName(text: string): string {
  const at = text.indexOf("@");
  const name = at >= 0 ? text.slice(0, at) : text;
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(0, colon) : name;
}
