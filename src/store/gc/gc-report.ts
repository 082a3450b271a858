/** What a gc run removed, or with a dry run would remove. */
import type { Digest } from "../../digest/index.ts";

export interface GcReport {
  dryRun: boolean;
  /** Stopped by its signal before the end: what is listed was done. */
  interrupted: boolean;
  tags: { repository: string; tag: string; digest: Digest }[];
  manifests: { repository: string; digest: Digest; mediaType: string; size: number }[];
  /** Links of repositories to blobs none of their remaining manifests uses. */
  links: number;
  blobs: { count: number; bytes: number; digests: Digest[] };
  /** Bytes no row records (debris of crashes), removed from the blob driver. */
  unrecorded: { count: number; bytes: number };
  /** Repositories left with nothing in them. */
  repositories: string[];
  /** Blob and debris bytes the disk gets back. */
  bytesFreed: number;
  kept: { tags: number; manifests: number; blobs: number };
  /**
   * Left in place although chosen: pushed, tagged or linked again while
   * gc ran, or referenced by something that was.
   */
  skipped: { tags: number; manifests: number; blobs: number };
  /** Keep entries that matched nothing, and similar notes. */
  warnings: string[];
  durationMs: number;
}
