/**
 * What a gc run is told. The store takes plain keep entries (repository
 * candidates and a tag or digest): reading image lists and bundles into
 * them is the caller's business, since the store knows no file formats.
 */
import type { Digest } from "../../digest/index.ts";

/** One image that must stay. */
export interface KeepEntry {
  /**
   * The store repositories this entry may name, most likely first: a list
   * names `docker.io/library/nginx`, the store holds `library/nginx` (the
   * upstream's domain is replaced by the site registry's).
   */
  repositories: string[];
  tag?: string;
  digest?: Digest;
  /** The entry as written, for messages: `docker.io/library/nginx:1.25`. */
  name: string;
  /** Where it was named, for messages: `release.txt:3`. */
  origin: string;
}

/** Tags kept by age and use, beside (or instead of) keep lists. */
export interface RetentionRules {
  /** Keep the N most recently pushed tags of each repository (of those matching `tagPattern`). */
  keepRecent?: number;
  /** Keep tags pushed or pulled within this many milliseconds. */
  keepWithinMs?: number;
  /** The tags the rules apply to (the whole tag must match); others are left alone unless a keep list decides. Default: all. */
  tagPattern?: RegExp;
}

export interface GcOptions {
  /**
   * Images that must stay. When given, every other tag goes, and every
   * manifest only those tags reached. Absent: no tag is removed by a keep list.
   */
  keep?: KeepEntry[];
  retention?: RetentionRules;
  /** Remove manifests no tag reaches (pushed by digest only), not only those the removed tags left behind. */
  deleteUntagged?: boolean;
  /**
   * Nothing pushed, tagged or linked more recently than this is removed,
   * so pushes in flight finish first (default one hour).
   */
  graceMs?: number;
  /** Report what would go; change nothing. */
  dryRun?: boolean;
  /** Run even though the keep lists match nothing in the store. */
  force?: boolean;
  /**
   * Rest after each delete as long as it took, so writers in other
   * processes get the database's write lock in between (default true).
   */
  pace?: boolean;
  /** The clock (tests). */
  now?: number;
  onProgress?: (event: GcProgress) => void;
}

export type GcPhase = "mark" | "tags" | "manifests" | "links" | "blobs" | "files" | "repositories";

export interface GcProgress {
  phase: GcPhase;
  /** Items handled in this phase so far. */
  done: number;
  total?: number;
}

export const DEFAULT_GRACE_MS = 3_600_000;

/**
 * Bytes on disk without a row are debris of a crash, or a push between
 * placing its bytes and recording them (milliseconds): they are removed
 * only when older than this, whatever the grace window.
 */
export const UNRECORDED_MIN_AGE_MS = 5 * 60_000;
