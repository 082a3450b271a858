/**
 * Rendering the engine's events. stdout carries results: one line per
 * image and the summary, or with `--json` one JSON object per event and a
 * final `{"type":"summary",...}`. stderr carries progress, notes and
 * failures: on a terminal a live line redrawn in place; otherwise one
 * progress line every few seconds, so logs stay readable.
 */
import { type SyncEvent, SyncProgress, type SyncSummary } from "../sync/index.ts";
import type { CommandContext } from "./command.ts";
import { formatBytes, formatRate, formatSummary } from "./sync-format.ts";

export interface ReporterOptions {
  /** text: results as lines; json: results as JSON lines; plan (dry run): no results, the caller prints the plan. */
  mode: "text" | "json" | "plan";
  /** Milliseconds between progress renders (default: 200 on a terminal, 10 s otherwise). */
  interval?: number;
  /** The verb of a failure line, `cannot sync "IMAGE": …` (bundle create says pull). */
  verb?: string;
}

/**
 * Result lines wait at most this long, so that a burst of them (a re-sync
 * finds every image present at once) is one write instead of one per line.
 */
const RESULTS_DELAY_MS = 100;

/** Events not written as JSON lines: per-chunk byte counts, folded into the progress instead. */
const QUIET_IN_JSON = new Set<SyncEvent["type"]>(["blob-progress"]);

export class SyncReporter {
  readonly #ctx: Pick<CommandContext, "stdout" | "stderr" | "interactive">;
  readonly #mode: ReporterOptions["mode"];
  readonly #interval: number;
  readonly #verb: string;
  readonly #started = performance.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #live = false;
  readonly #progress = new SyncProgress();
  /** stdout text not written yet (see RESULTS_DELAY_MS). */
  #results: string[] = [];
  #resultsTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(ctx: Pick<CommandContext, "stdout" | "stderr" | "interactive">, options: ReporterOptions) {
    this.#ctx = ctx;
    this.#mode = options.mode;
    this.#interval = options.interval ?? (ctx.interactive ? 200 : 10_000);
    this.#verb = options.verb ?? "sync";
  }

  readonly listener = (event: SyncEvent): void => {
    this.#progress.update(event);
    if (event.type === "planned") this.start();
    if (this.#mode === "json" && !QUIET_IN_JSON.has(event.type)) this.#out(`${JSON.stringify(jsonOf(event))}\n`);
    this.#notes(event, this.#mode === "text");
  };

  /** Start the periodic progress (after planning: the totals are known). */
  start(): void {
    this.#timer ??= setInterval(() => this.render(), this.#interval);
  }

  /** Stop the progress, clear the live line, write the results held back. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#clear();
    this.#flush();
  }

  #notes(event: SyncEvent, results: boolean): void {
    switch (event.type) {
      case "image-done":
        if (results) this.#out(`${event.outcome.padEnd(7)}  ${event.image} -> ${event.target}  ${event.digest}\n`);
        break;
      case "image-failed":
        this.#err(`stevedore: cannot ${this.#verb} ${JSON.stringify(event.image)}: ${event.error}\n`);
        break;
      case "platform-filtered":
        this.#err(
          `stevedore: note: ${event.image}: copying ${event.platforms.join(", ")} only; the digest changes from ${event.from} to ${event.to}\n`,
        );
        break;
      case "warning":
        this.#err(`stevedore: warning: ${event.message}\n`);
        break;
      case "blob-retry":
        this.#err(`stevedore: warning: upload of ${event.digest} to ${event.repository} failed (${event.error}); trying again\n`);
        break;
      case "done":
        this.stop();
        if (results) this.#out(`${formatSummary(event.summary)}\n`);
        break;
    }
  }

  /** Write the progress line now (the timer calls this). */
  render(): void {
    const seconds = (performance.now() - this.#started) / 1000;
    const { images, bytes, transfers } = this.#progress.snapshot();
    const line =
      `images ${images.done}/${images.total} · ${formatBytes(bytes.done)} of ${formatBytes(bytes.total)}` +
      ` · ${formatRate(bytes.done, seconds)} · ${transfers} transfers`;
    if (this.#ctx.interactive) {
      this.#ctx.stderr.write(`\r\x1b[2K${line}`);
      this.#live = true;
    } else {
      this.#ctx.stderr.write(`progress: ${line}\n`);
    }
  }

  #clear(): void {
    if (this.#live) this.#ctx.stderr.write("\r\x1b[2K");
    this.#live = false;
  }

  #out(text: string): void {
    this.#results.push(text);
    this.#resultsTimer ??= setTimeout(() => this.#flush(), RESULTS_DELAY_MS);
  }

  #flush(): void {
    clearTimeout(this.#resultsTimer);
    this.#resultsTimer = undefined;
    if (this.#results.length === 0) return;
    const text = this.#results.join("");
    this.#results = [];
    this.#clear();
    this.#ctx.stdout.write(text);
  }

  #err(text: string): void {
    // Results first: what stdout and stderr say stays in the order it happened.
    this.#flush();
    this.#clear();
    this.#ctx.stderr.write(text);
  }
}

/** The JSON line for an event; the final summary is `{"type":"summary",...}`. */
function jsonOf(event: SyncEvent): object {
  return event.type === "done" ? summaryJson(event.summary) : event;
}

export function summaryJson(summary: SyncSummary): object {
  return { type: "summary", ...summary };
}
