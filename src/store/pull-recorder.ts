/**
 * Last-pull times, written in batches: a pull is a read, and one SQL write
 * per manifest GET would make every pull wait for a commit. Pulls are
 * collected in memory (latest time per manifest) and flushed every
 * `intervalMs`, and on close; a crash loses at most one interval of them.
 */
import type { Digest } from "../digest/index.ts";
import type { Metadata } from "./metadata.ts";

export interface PullRecorderOptions {
  /** Milliseconds between flushes (default 5 s). */
  intervalMs?: number;
  /** A flush that failed (the times are kept for the next one). */
  onError?: (error: unknown) => void;
}

export class PullRecorder {
  #pending = new Map<string, { repository: string; digest: Digest; at: number }>();
  #flushing: Promise<void> | undefined;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly metadata: Metadata,
    private readonly options: PullRecorderOptions = {},
  ) {
    this.#timer = setInterval(() => void this.flush(), options.intervalMs ?? 5000);
    this.#timer.unref?.();
  }

  record(repository: string, digest: Digest, at = Date.now()): void {
    const key = `${repository}@${digest}`;
    const seen = this.#pending.get(key);
    if (!seen || seen.at < at) this.#pending.set(key, { repository, digest, at });
  }

  /** Write what is pending; one flush at a time. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.#flushing = this.metadata.recordPulls([...batch.values()]).catch((error) => {
      // Keep them for the next try, unless newer ones came meanwhile.
      for (const [key, pull] of batch) if (!this.#pending.has(key)) this.#pending.set(key, pull);
      this.options.onError?.(error);
    });
    try {
      await this.#flushing;
    } finally {
      this.#flushing = undefined;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}
