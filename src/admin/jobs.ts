/**
 * Long work started over the admin API (sync, gc), run one at a time in
 * the order submitted: a sync and a gc never race each other for the
 * disk, and a queue is easy to reason about on a single node. Jobs live in
 * memory: a restart forgets them (the store keeps what they did).
 *
 *   queued ──▶ running ──▶ succeeded | failed | cancelled
 *      └──────────────────────────────────────▶ cancelled   (DELETE while queued)
 */
import { randomUUID } from "node:crypto";

export type JobKind = "sync" | "gc";
export type JobState = "queued" | "running" | "succeeded" | "failed" | "cancelled";

export interface JobProgress {
  /** Bytes moved so far and the bytes the plan expects to move (0 until planned). */
  bytes: { done: number; total: number };
  images: { done: number; total: number; failed: number };
  /** What the job is doing now, in a few words. */
  phase?: string;
}

/** A job as the API shows it. */
export interface JobView {
  id: string;
  kind: JobKind;
  state: JobState;
  /** The request that started it, as validated. */
  request: unknown;
  progress: JobProgress;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Why it failed (or the first failure of a run that went on). */
  error?: string;
  /** What it did: the sync summary or the gc report. */
  report?: unknown;
  /** A cancel was asked for and the job has not stopped yet. */
  cancelRequested?: boolean;
}

/** What a job's work reports back when it ends. */
export interface JobOutcome {
  state: "succeeded" | "failed" | "cancelled";
  report?: unknown;
  error?: string;
}

export interface JobContext {
  signal: AbortSignal;
  /**
   * Where the job's progress comes from: a value, or a function asked
   * whenever someone looks (so a busy copy does not build a snapshot per
   * chunk nobody reads).
   */
  progress(progress: JobProgress | (() => JobProgress)): void;
}

export type JobWork = (ctx: JobContext) => Promise<JobOutcome>;

interface Job {
  view: JobView;
  work: JobWork;
  abort: AbortController;
  progressOf?: () => JobProgress;
  finished: Promise<void>;
  finish: () => void;
}

export interface JobQueueOptions {
  /** Finished jobs kept for GET (oldest dropped first). Default 100. */
  keep?: number;
  /** Told when a job ends (metrics). */
  onFinished?: (job: JobView) => void;
}

export const EMPTY_PROGRESS: JobProgress = { bytes: { done: 0, total: 0 }, images: { done: 0, total: 0, failed: 0 } };

export class JobQueue {
  readonly #jobs = new Map<string, Job>();
  readonly #waiting: Job[] = [];
  #running: Job | undefined;
  #closed = false;

  constructor(private readonly options: JobQueueOptions = {}) {}

  submit(kind: JobKind, request: unknown, work: JobWork): JobView {
    if (this.#closed) throw new Error("the job queue is closed");
    const { promise: finished, resolve: finish } = Promise.withResolvers<void>();
    const job: Job = {
      view: { id: randomUUID(), kind, state: "queued", request, progress: structuredClone(EMPTY_PROGRESS), createdAt: new Date().toISOString() },
      work,
      abort: new AbortController(),
      finished,
      finish,
    };
    this.#jobs.set(job.view.id, job);
    this.#waiting.push(job);
    this.#prune();
    queueMicrotask(() => this.#next());
    return this.#snapshot(job);
  }

  get(id: string): JobView | undefined {
    const job = this.#jobs.get(id);
    return job && this.#snapshot(job);
  }

  /** Newest first. */
  list(): JobView[] {
    return [...this.#jobs.values()].reverse().map((j) => this.#snapshot(j));
  }

  /** Jobs queued or running. */
  get active(): number {
    return this.#waiting.length + (this.#running ? 1 : 0);
  }

  /**
   * Cancel a job: a queued one ends now, a running one is told through its
   * signal and ends when its work stops. Undefined when there is no such
   * job; the job as it is when it has finished already.
   */
  cancel(id: string): { job: JobView; finished: boolean } | undefined {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    const v = job.view;
    if (v.state === "queued") {
      this.#waiting.splice(this.#waiting.indexOf(job), 1);
      this.#end(job, { state: "cancelled", error: "cancelled before it started" });
    } else if (v.state === "running") {
      v.cancelRequested = true;
      job.abort.abort(new Error("cancelled"));
    } else {
      return { job: this.#snapshot(job), finished: true };
    }
    return { job: this.#snapshot(job), finished: false };
  }

  /** Resolves when the job has ended (at once for an unknown or finished one). */
  async wait(id: string): Promise<JobView | undefined> {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    await job.finished;
    return this.#snapshot(job);
  }

  /** Cancel everything and wait for the running job to stop. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of [...this.#waiting]) this.cancel(job.view.id);
    const running = this.#running;
    if (running) {
      this.cancel(running.view.id);
      await running.finished;
    }
  }

  #next(): void {
    if (this.#running) return;
    const job = this.#waiting.shift();
    if (!job) return;
    this.#running = job;
    job.view.state = "running";
    job.view.startedAt = new Date().toISOString();
    const ctx: JobContext = {
      signal: job.abort.signal,
      progress: (p) => {
        if (typeof p === "function") {
          job.progressOf = p;
        } else {
          job.progressOf = undefined;
          job.view.progress = structuredClone(p);
        }
      },
    };
    void (async () => {
      let outcome: JobOutcome;
      try {
        outcome = await job.work(ctx);
      } catch (error) {
        outcome = job.abort.signal.aborted
          ? { state: "cancelled", error: "cancelled" }
          : { state: "failed", error: error instanceof Error ? error.message : String(error) };
      }
      // Work that noticed the abort may still report success of what it did; it was cancelled all the same.
      if (job.abort.signal.aborted && outcome.state === "succeeded") outcome = { ...outcome, state: "cancelled" };
      this.#running = undefined;
      this.#end(job, outcome);
      this.#next();
    })();
  }

  #end(job: Job, outcome: JobOutcome): void {
    const v = job.view;
    this.#readProgress(job);
    job.progressOf = undefined;
    v.state = outcome.state;
    v.finishedAt = new Date().toISOString();
    delete v.cancelRequested;
    if (outcome.error !== undefined) v.error = outcome.error;
    if (outcome.report !== undefined) v.report = outcome.report;
    job.finish();
    this.options.onFinished?.(this.#snapshot(job));
    this.#prune();
  }

  /** Drop the oldest finished jobs beyond the limit. */
  #prune(): void {
    const keep = this.options.keep ?? 100;
    const finished = [...this.#jobs.values()].filter((j) => j.view.finishedAt !== undefined);
    for (const job of finished.slice(0, Math.max(0, finished.length - keep))) this.#jobs.delete(job.view.id);
  }

  #readProgress(job: Job): void {
    if (job.progressOf) job.view.progress = job.progressOf();
  }

  #snapshot(job: Job): JobView {
    this.#readProgress(job);
    return structuredClone(job.view);
  }
}
