/**
 * What the copy engine tells its caller while it works. Nothing in the
 * engine prints: the command line renders these as a progress line, log
 * lines or JSON; the admin API keeps them for a job's status.
 */
import type { Digest } from "../digest/index.ts";
import type { PlanTotals } from "./plan.ts";

/** How an image ended. */
export type ImageOutcome =
  /** Content moved: blobs and manifests were written, then the tag. */
  | "copied"
  /** Everything was there already; only the tag was written. */
  | "tagged"
  /** Everything was there already, tag included: nothing written. */
  | "present";

export type SyncEvent =
  /** Planning is over; totals of what will move. */
  | { type: "planned"; totals: PlanTotals }
  /** A platform filter rewrote an index (or picked one manifest of it): the image's digest changed. */
  | { type: "platform-filtered"; image: string; from: Digest; to: Digest; platforms: string[] }
  | { type: "warning"; message: string }
  /** An upload starts (mounts are reported when done: they are one small request). */
  | { type: "blob-started"; repository: string; digest: Digest; size: number; action: "push" }
  /**
   * Bytes of a blob upload since the last event: as they stream; for a
   * file body sent to a registry in one request, `estimated` while it runs
   * (at the rate of earlier uploads) and settled when the registry answers;
   * negative to take back bytes that must be sent again or did not count.
   */
  | { type: "blob-progress"; digest: Digest; bytes: number; estimated?: boolean }
  | { type: "blob-done"; repository: string; digest: Digest; size: number; action: "pushed" | "mounted" }
  /** A streamed upload failed in a way that may heal; it starts again from the source after a pause. */
  | { type: "blob-retry"; repository: string; digest: Digest; attempt: number; error: string }
  /** An upload failed for good (the image that needs it fails). */
  | { type: "blob-failed"; repository: string; digest: Digest; error: string }
  | { type: "manifest-pushed"; repository: string; reference: string; digest: Digest }
  | { type: "image-done"; image: string; target: string; digest: Digest; outcome: ImageOutcome }
  | { type: "image-failed"; image: string; target?: string; error: string }
  /** An image not finished because the run stopped (after a failure without keep-going, or on cancellation). */
  | { type: "image-cancelled"; image: string; target?: string }
  | { type: "done"; summary: SyncSummary };

export type SyncEventListener = (event: SyncEvent) => void;

export interface SyncSummary {
  images: { total: number; synced: number; skipped: number; failed: number; cancelled: number };
  blobs: { pushed: number; mounted: number; skipped: number };
  manifests: { pushed: number };
  /** Bytes uploaded. */
  bytes: number;
  seconds: number;
  /** Upload rate in MB/s (10^6 bytes), over the whole run. */
  mbPerSecond: number;
  /** True when the caller's signal stopped the run. */
  interrupted: boolean;
  /** One line per failed image. */
  failures: { image: string; error: string }[];
}
