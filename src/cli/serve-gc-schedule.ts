/**
 * The gc schedule of `serve --config` (`gc: {interval: 24h, keep: [...], retention: {...}}`):
 * every interval a gc job joins the job queue (the admin API shows it),
 * unless one is still queued or running. Keep lists are re-read at each run,
 * so a new release's list takes effect without a restart; they are also
 * read once at start-up, so a broken one stops serve from starting.
 */
import { gcWork, type JobQueue } from "../admin/index.ts";
import { type GcOptions, type RetentionRules, runGc, type Store } from "../store/index.ts";
import { CommandError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { formatGcReport } from "./gc.ts";
import { readKeepSources } from "./gc-keep.ts";
import type { GcSchedule } from "./serve-config.ts";

export interface GcScheduleContext {
  store: Store;
  jobs: JobQueue;
  log: (line: string) => void;
  /** Before each run: flush buffered pull times. */
  beforeRun: () => Promise<void>;
  /** After each run: metrics. */
  onFreed?: (bytes: number) => void;
}

/** Check a schedule before anything starts: its durations, its retention rules, and that its keep lists read. */
export async function checkGcSchedule(schedule: GcSchedule): Promise<void> {
  const interval = parseDuration(schedule.interval, "gc.interval");
  if (interval <= 0) throw new CommandError("config: gc.interval must be more than zero");
  gcOptions(schedule);
  if (schedule.keep) await readKeepSources(schedule.keep, schedule.prefix);
}

/** Validate the schedule and start it; returns the function that stops it. */
export async function startGcSchedule(schedule: GcSchedule, ctx: GcScheduleContext): Promise<() => void> {
  await checkGcSchedule(schedule);
  const interval = parseDuration(schedule.interval, "gc.interval");
  const options = gcOptions(schedule);

  const submit = () => {
    if (ctx.jobs.list().some((j) => j.kind === "gc" && (j.state === "queued" || j.state === "running"))) {
      ctx.log("stevedore: scheduled gc skipped: the previous one has not finished");
      return;
    }
    const request = { scheduled: true, ...(schedule.keep ? { keep: schedule.keep } : {}), dryRun: options.dryRun ?? false };
    const work = gcWork(
      async (_request, signal, onProgress) => {
        await ctx.beforeRun();
        const sources = schedule.keep ? await readKeepSources(schedule.keep, schedule.prefix) : undefined;
        for (const warning of sources?.warnings ?? []) ctx.log(`stevedore: scheduled gc: warning: ${warning}`);
        const report = await runGc(ctx.store, { ...options, ...(sources ? { keep: sources.entries } : {}), ...(onProgress ? { onProgress } : {}) }, signal);
        return { report, bytesFreed: report.dryRun ? 0 : report.bytesFreed };
      },
      { dryRun: options.dryRun ?? false },
      (result) => {
        ctx.onFreed?.(result.bytesFreed);
        const report = result.report as Parameters<typeof formatGcReport>[0];
        ctx.log(`stevedore: scheduled ${formatGcReport(report).trimEnd().split("\n").at(-1)}`);
      },
    );
    let id: string;
    try {
      id = ctx.jobs.submit("gc", request, work).id;
    } catch {
      return; // the queue is closing: serve is stopping
    }
    void ctx.jobs.wait(id).then((job) => {
      if (job?.state === "failed") ctx.log(`stevedore: scheduled gc failed: ${job.error}`);
    });
  };
  const timer = setInterval(submit, interval);
  return () => clearInterval(timer);
}

function gcOptions(schedule: GcSchedule): GcOptions {
  const r = schedule.retention;
  let retention: RetentionRules | undefined;
  if (r && (r["keep-recent"] !== undefined || r["keep-within"] !== undefined)) {
    retention = {
      ...(r["keep-recent"] !== undefined ? { keepRecent: r["keep-recent"] } : {}),
      ...(r["keep-within"] !== undefined ? { keepWithinMs: parseDuration(r["keep-within"], "gc.retention.keep-within") } : {}),
      ...(r.tags !== undefined ? { tagPattern: new RegExp(r.tags) } : {}),
    };
  } else if (r?.tags !== undefined) {
    throw new CommandError("config: gc.retention.tags needs keep-recent or keep-within");
  }
  return {
    ...(retention ? { retention } : {}),
    deleteUntagged: schedule["delete-untagged"] ?? false,
    ...(schedule.grace !== undefined ? { graceMs: schedule.grace === "0" ? 0 : parseDuration(schedule.grace, "gc.grace") } : {}),
    dryRun: schedule["dry-run"] ?? false,
  };
}
