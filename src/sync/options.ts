/** What a caller can ask of a sync. */
import type { Platform } from "../oci/index.ts";
import type { SyncEventListener } from "./events.ts";
import type { SyncPlan } from "./plan.ts";

/** Blob transfers at once when the caller does not say: enough to fill a link, few enough not to thrash a disk. */
export const DEFAULT_PARALLEL = 6;

export interface SyncOptions {
  /** Blob transfers at once (`--parallel`). */
  parallel?: number;
  /** Small requests at once (manifests, HEADs, mounts); default twice `parallel`, between 4 and 32. */
  metadataParallel?: number;
  /** Copy only these platforms of multi-arch images (see platform-filter.ts for what one vs several means). */
  platforms?: Platform[];
  /** Also copy the referrers (signatures, SBOMs) of every manifest walked, when the source can list them. */
  referrers?: boolean;
  /** Walk and check everything even when the destination has an image's manifest (repairs holes). */
  force?: boolean;
  /** Go on with other images after one fails; by default the run stops at the first failure. */
  keepGoing?: boolean;
  /** Stops the run: waiting work is dropped, uploads through the engine are cut. */
  signal?: AbortSignal;
  /** Retries of streamed blob uploads (tests shorten the pause). */
  retry?: { attempts?: number; baseDelayMs?: number };
  onEvent?: SyncEventListener;
  /**
   * Called with the plan once it is made, before anything moves (a bundle
   * lays out its archive from it). A rejection ends the run with it.
   */
  beforeTransfer?: (plan: SyncPlan) => Promise<void>;
}

export function transferLimit(options: SyncOptions): number {
  return options.parallel ?? DEFAULT_PARALLEL;
}

export function metadataLimit(options: SyncOptions): number {
  return options.metadataParallel ?? Math.max(4, Math.min(32, 2 * transferLimit(options)));
}
