/**
 * POST /api/v1/sync: import images from a path on this node (a bundle, an
 * OCI layout, any transport string) straight into the served store, in
 * this process, through the copy engine. Images keep their repository
 * path, under `prefix` if given — as `stevedore sync SRC localhost:5000`.
 */
import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { z } from "zod";
import { type ImageHome, parsePlatform, type Platform, PlatformError } from "../oci/index.ts";
import { patterns } from "../reference/index.ts";
import { importImages, type ImportOptions, SyncProgress, type SyncSummary } from "../sync/index.ts";
import { parseTransport, TransportError } from "../transports/index.ts";
import { AdminError } from "./admin-error.ts";
import type { JobOutcome, JobWork } from "./jobs.ts";

export const syncRequestSchema = z
  .object({
    source: z.string().trim().min(1, "source is empty").max(4096),
    prefix: z.string().regex(patterns.ANCHORED_REMOTE_NAME, "prefix must be a repository path: lowercase a-z0-9 parts separated by /").optional(),
    platforms: z.array(z.string().min(1)).max(64).optional(),
    /** The repository of layout entries named by a bare tag. */
    repository: z.string().regex(patterns.ANCHORED_REMOTE_NAME, "repository must be a repository path").optional(),
    keepGoing: z.boolean().optional(),
    referrers: z.boolean().optional(),
    force: z.boolean().optional(),
    parallel: z.number().int().min(1).max(64).optional(),
  })
  .strict();

export type SyncRequest = z.infer<typeof syncRequestSchema>;

/** Checks beyond the shape: the source parses and, for a path, exists; platforms parse. */
export async function checkSyncRequest(request: SyncRequest): Promise<Platform[]> {
  let spec;
  try {
    spec = parseTransport(request.source);
  } catch (error) {
    if (error instanceof TransportError) throw new AdminError("INVALID_REQUEST", `source: ${error.message}`);
    throw error;
  }
  if (spec.transport !== "docker") {
    if (!isAbsolute(spec.path)) {
      throw new AdminError("INVALID_REQUEST", `source: ${JSON.stringify(spec.path)} must be an absolute path on this node`);
    }
    try {
      await stat(spec.path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new AdminError("INVALID_REQUEST", `source: ${JSON.stringify(spec.path)}: ${code === "ENOENT" ? "no such file or directory on this node" : code}`);
    }
  }
  return (request.platforms ?? []).map((text) => {
    try {
      return parsePlatform(text);
    } catch (error) {
      if (error instanceof PlatformError) throw new AdminError("INVALID_REQUEST", `platforms: ${error.message}`);
      throw error;
    }
  });
}

export type Importer = (source: string, home: ImageHome, options: ImportOptions) => Promise<SyncSummary>;

/** What a sync job reports: the engine's summary and what it warned about. */
export interface SyncReport extends SyncSummary {
  warnings: string[];
}

const MAX_WARNINGS = 100;

export function syncWork(home: ImageHome, request: SyncRequest, platforms: Platform[], importer: Importer = importImages): JobWork {
  return async (ctx) => {
    const progress = new SyncProgress();
    const warnings: string[] = [];
    ctx.progress(() => {
      const s = progress.snapshot();
      return {
        bytes: s.bytes,
        images: { done: s.images.done, total: s.images.total, failed: s.images.failed },
        phase: s.planned ? "copying" : "planning",
      };
    });
    const summary = await importer(request.source, home, {
      ...(request.prefix ? { prefix: request.prefix } : {}),
      ...(request.repository ? { repository: request.repository } : {}),
      ...(platforms.length ? { platforms } : {}),
      ...(request.parallel ? { parallel: request.parallel } : {}),
      keepGoing: request.keepGoing ?? false,
      referrers: request.referrers ?? false,
      force: request.force ?? false,
      signal: ctx.signal,
      onEvent: (event) => {
        progress.update(event);
        if (warnings.length >= MAX_WARNINGS) return;
        if (event.type === "warning") warnings.push(event.message);
        if (event.type === "platform-filtered") {
          warnings.push(`${event.image}: platforms ${event.platforms.join(", ")} chosen; digest ${event.from} became ${event.to}`);
        }
      },
    });
    return outcomeOf({ ...summary, warnings });
  };
}

function outcomeOf(report: SyncReport): JobOutcome {
  if (report.interrupted) return { state: "cancelled", error: "cancelled", report };
  const first = report.failures[0];
  if (report.images.failed > 0 || report.images.cancelled > 0) {
    const error = first ? `${first.image}: ${first.error}` : `${report.images.cancelled} image(s) not copied`;
    return { state: "failed", error: report.failures.length > 1 ? `${error} (and ${report.failures.length - 1} more)` : error, report };
  }
  return { state: "succeeded", report };
}
