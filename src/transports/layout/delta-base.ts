/**
 * Delta bundles: a layout that leaves out layers its base bundle already
 * carries, and says so in annotations on its index.json:
 *
 *   io.stevedore.bundle.base.index   sha256:…   digest of the base bundle's index.json (its identity)
 *   io.stevedore.bundle.base.name    app-7.0.tar  the base bundle's file name, for messages
 *   io.stevedore.bundle.base.blobs   sha256:…,sha256:…  the blobs left to the base, sorted
 *
 * A reader asked for one of those blobs says which base to sync first,
 * rather than only that the blob is missing.
 */
import { type Digest, isDigest } from "../../digest/index.ts";

export const DeltaAnnotation = {
  baseIndex: "io.stevedore.bundle.base.index",
  baseName: "io.stevedore.bundle.base.name",
  baseBlobs: "io.stevedore.bundle.base.blobs",
} as const;

export interface DeltaBase {
  /** Digest of the base bundle's index.json. */
  index: Digest;
  /** The base bundle's file name, when recorded. */
  name?: string;
  /** Blobs this bundle leaves to its base. */
  blobs: ReadonlySet<Digest>;
}

/** The base a layout's index.json annotations name, or undefined for a complete layout. */
export function deltaBaseOf(annotations: Record<string, string> | undefined): DeltaBase | undefined {
  const index = annotations?.[DeltaAnnotation.baseIndex];
  if (index === undefined || !isDigest(index)) return undefined;
  const list = annotations?.[DeltaAnnotation.baseBlobs] ?? "";
  const blobs = new Set(list.split(",").filter((d): d is Digest => isDigest(d)));
  const name = annotations?.[DeltaAnnotation.baseName];
  return { index, ...(name ? { name } : {}), blobs };
}

/** The index.json annotations recording a base. */
export function deltaAnnotations(base: DeltaBase): Record<string, string> {
  return {
    [DeltaAnnotation.baseBlobs]: [...base.blobs].sort().join(","),
    [DeltaAnnotation.baseIndex]: base.index,
    ...(base.name ? { [DeltaAnnotation.baseName]: base.name } : {}),
  };
}

/** `the base bundle "app-7.0.tar" (index.json sha256:…)`. */
export function describeBase(base: DeltaBase): string {
  return `the base bundle ${base.name ? `${JSON.stringify(base.name)} ` : ""}(index.json ${base.index})`;
}
