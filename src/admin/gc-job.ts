/**
 * POST /api/v1/gc: garbage collection of the served store as a job, by the
 * store's own collector (`runGc`), safe while clients push. The request
 * names the images to keep as references; they match store repositories as
 * `stevedore gc --keep` does (the domain replaced, under `prefix` if the
 * images were synced under one).
 */
import { z } from "zod";
import { joinPath } from "../transports/index.ts";
import { parseNormalizedReference, type Reference } from "../reference/index.ts";
import { GcError, type GcOptions, type GcProgress, type KeepEntry, type RetentionRules, runGc, type Store } from "../store/index.ts";
import { AdminError } from "./admin-error.ts";
import type { JobWork } from "./jobs.ts";

export const gcRequestSchema = z
  .object({
    /** References of images that must stay; every other tag and manifest goes. Absent: no tag is removed by a keep list. */
    keep: z.array(z.string().min(1).max(1024)).max(100_000).optional(),
    /** The images were synced under this repository prefix. */
    prefix: z.string().min(1).max(255).optional(),
    dryRun: z.boolean().optional(),
    /** Also remove manifests no tag reaches. */
    deleteUntagged: z.boolean().optional(),
    /** Nothing newer than this is removed (default: one hour). */
    graceSeconds: z.number().int().min(0).max(365 * 86_400).optional(),
    /** Retention: keep the N most recently pushed tags of each repository. */
    keepRecent: z.number().int().min(1).max(1_000_000).optional(),
    /** Retention: keep tags pushed or pulled within this many seconds. */
    keepWithinSeconds: z.number().int().min(1).optional(),
    /** The tags retention applies to (a regular expression over the whole tag). */
    tagPattern: z.string().min(1).max(1000).optional(),
    /** Run even though the keep list matches nothing in the store (which removes every image). */
    force: z.boolean().optional(),
  })
  .strict();

export type GcRequest = z.infer<typeof gcRequestSchema>;

/** What a collector run gives back: its report, and the bytes it freed (0 on a dry run) for the metrics. */
export interface GcResult {
  report: unknown;
  bytesFreed: number;
}

export type GcRunner = (request: GcRequest, signal: AbortSignal, onProgress?: (progress: GcProgress) => void) => Promise<GcResult>;

/** Checks beyond the shape: references parse, the pattern compiles, retention is complete. */
export function checkGcRequest(request: GcRequest): void {
  keepEntries(request);
  retentionOf(request);
}

/** The keep references as the collector's entries. */
export function keepEntries(request: GcRequest): KeepEntry[] | undefined {
  return request.keep?.map((text, i) => {
    let ref: Reference;
    try {
      ref = parseNormalizedReference(text);
    } catch (error) {
      throw new AdminError("INVALID_REQUEST", `keep[${i}]: ${JSON.stringify(text.slice(0, 200))} is not an image reference: ${(error as Error).message}`);
    }
    const repositories = request.prefix ? [joinPath(request.prefix, ref.path)] : [...new Set([ref.path, ref.name])];
    return { repositories, ...(ref.tag ? { tag: ref.tag } : {}), ...(ref.digest ? { digest: ref.digest } : {}), name: ref.toString(), origin: `keep[${i}]` };
  });
}

function retentionOf(request: GcRequest): RetentionRules | undefined {
  if (request.keepRecent === undefined && request.keepWithinSeconds === undefined) {
    if (request.tagPattern !== undefined) throw new AdminError("INVALID_REQUEST", "tagPattern: needs keepRecent or keepWithinSeconds");
    return undefined;
  }
  let tagPattern: RegExp | undefined;
  if (request.tagPattern !== undefined) {
    try {
      tagPattern = new RegExp(request.tagPattern);
    } catch (error) {
      throw new AdminError("INVALID_REQUEST", `tagPattern: ${(error as Error).message}`);
    }
  }
  return {
    ...(request.keepRecent !== undefined ? { keepRecent: request.keepRecent } : {}),
    ...(request.keepWithinSeconds !== undefined ? { keepWithinMs: request.keepWithinSeconds * 1000 } : {}),
    ...(tagPattern ? { tagPattern } : {}),
  };
}

/**
 * The collector over the served store. `beforeRun` lets serve flush the
 * pull times it buffers, so retention by last pull sees them.
 */
export function storeGcRunner(store: Store, beforeRun?: () => Promise<void>): GcRunner {
  return async (request, signal, onProgress) => {
    const keep = keepEntries(request);
    const retention = retentionOf(request);
    const options: GcOptions = {
      ...(keep ? { keep } : {}),
      ...(retention ? { retention } : {}),
      deleteUntagged: request.deleteUntagged ?? false,
      ...(request.graceSeconds !== undefined ? { graceMs: request.graceSeconds * 1000 } : {}),
      dryRun: request.dryRun ?? false,
      force: request.force ?? false,
      ...(onProgress ? { onProgress } : {}),
    };
    await beforeRun?.();
    try {
      const report = await runGc(store, options, signal);
      return { report, bytesFreed: report.dryRun ? 0 : report.bytesFreed };
    } catch (error) {
      // A refusal (keep lists matching nothing) is the job's error message as it is.
      if (error instanceof GcError) throw new Error(error.message.replace("(force the run to remove every image)", '(set "force": true to remove every image)'));
      throw error;
    }
  };
}

export function gcWork(run: GcRunner, request: GcRequest, onResult: (result: GcResult) => void): JobWork {
  return async (ctx) => {
    let phase = request.dryRun ? "dry run: mark" : "mark";
    ctx.progress(() => ({ bytes: { done: 0, total: 0 }, images: { done: 0, total: 0, failed: 0 }, phase }));
    const result = await run(request, ctx.signal, (p) => {
      phase = `${request.dryRun ? "dry run: " : ""}${p.phase} ${p.done}${p.total !== undefined ? `/${p.total}` : ""}`;
    });
    onResult(result);
    const interrupted = (result.report as { interrupted?: boolean } | undefined)?.interrupted === true;
    return interrupted ? { state: "cancelled", error: "cancelled", report: result.report } : { state: "succeeded", report: result.report };
  };
}
