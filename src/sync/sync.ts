/**
 * The copy engine's entry points: plan a copy between two endpoints (what
 * `--dry-run` shows), or plan and carry it out. The command line, the
 * admin API's bundle import and tests all come through here; progress
 * arrives as events, cancellation through the AbortSignal.
 *
 *   const summary = await syncImages(await openSource(a), await openDestination(b), {
 *     parallel: 8, signal, onEvent: (e) => ...,
 *   });
 */
import type { DestinationEndpoint, SourceEndpoint } from "../transports/endpoint.ts";
import { SyncContext } from "./context.ts";
import type { SyncSummary } from "./events.ts";
import type { SyncOptions } from "./options.ts";
import { makePlan, type SyncPlan } from "./plan.ts";
import { transfer } from "./transfer.ts";

/** What would move, without moving anything (only reads and HEADs). */
export function planSync(source: SourceEndpoint, destination: DestinationEndpoint, options: SyncOptions = {}): Promise<SyncPlan> {
  return makePlan(new SyncContext(source, destination, options));
}

/**
 * Copy every image the source names into the destination. Resolves with a
 * summary whatever happened to the images (failures are in it); rejects
 * only when the source cannot be listed at all.
 */
export async function syncImages(
  source: SourceEndpoint,
  destination: DestinationEndpoint,
  options: SyncOptions = {},
): Promise<SyncSummary> {
  const startedAt = performance.now();
  const ctx = new SyncContext(source, destination, options);
  const plan = await makePlan(ctx);
  await options.beforeTransfer?.(plan);
  const summary = await transfer(ctx, plan, startedAt);
  ctx.emit({ type: "done", summary });
  return summary;
}
