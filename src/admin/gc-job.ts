/**
 * POST /api/v1/gc: garbage collection of the served store as a job. The
 * collector itself belongs to the store; `serve` hands the admin API a
 * runner for it, so this file only validates the request and reports.
 */
import { z } from "zod";
import { parseNormalizedReference } from "../reference/index.ts";
import { AdminError } from "./admin-error.ts";
import type { JobWork } from "./jobs.ts";

export const gcRequestSchema = z
  .object({
    /** References of images that must stay; every other tag and manifest goes. Absent: only unreferenced blobs are swept. */
    keep: z.array(z.string().min(1).max(1024)).max(100_000).optional(),
    dryRun: z.boolean().optional(),
    /** Also remove manifests no tag reaches. */
    deleteUntagged: z.boolean().optional(),
    /** Blobs younger than this are never swept (default: the collector's). */
    graceSeconds: z.number().int().min(0).max(365 * 86_400).optional(),
  })
  .strict();

export type GcRequest = z.infer<typeof gcRequestSchema>;

/** What a collector run gives back: its report, and the bytes it freed (0 on a dry run) for the metrics. */
export interface GcResult {
  report: unknown;
  bytesFreed: number;
}

export type GcRunner = (request: GcRequest, signal: AbortSignal) => Promise<GcResult>;

/** Each keep entry must be an image reference. */
export function checkGcRequest(request: GcRequest): void {
  for (const [i, text] of (request.keep ?? []).entries()) {
    try {
      parseNormalizedReference(text);
    } catch (error) {
      throw new AdminError("INVALID_REQUEST", `keep[${i}]: ${JSON.stringify(text.slice(0, 200))} is not an image reference: ${(error as Error).message}`);
    }
  }
}

export function gcWork(run: GcRunner, request: GcRequest, onResult: (result: GcResult) => void): JobWork {
  return async (ctx) => {
    ctx.progress({ bytes: { done: 0, total: 0 }, images: { done: 0, total: 0, failed: 0 }, phase: request.dryRun ? "dry run" : "collecting" });
    const result = await run(request, ctx.signal);
    onResult(result);
    return { state: "succeeded", report: result.report };
  };
}
