/**
 * Processes for the benchmarks: memory read from /proc, commands run and
 * timed with their peak memory, free ports.
 */
import { readFileSync } from "node:fs";

export const MiB = 2 ** 20;

export interface Memory {
  /** Resident set now (VmRSS) and its peak over the process's life (VmHWM), bytes. */
  rss: number;
  hwm: number;
}

/** VmRSS and VmHWM of a live process; undefined once it has gone. */
export function memoryOf(pid: number): Memory | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/**
 * The largest VmRSS seen while something runs, sampled every few
 * milliseconds (VmHWM cannot be reset between rows; this can).
 */
export class RssSampler {
  readonly #pid: number;
  readonly #timer: ReturnType<typeof setInterval>;
  #max = 0;
  readonly before: number;

  constructor(pid: number, intervalMs = 20) {
    this.#pid = pid;
    this.before = memoryOf(pid)?.rss ?? NaN;
    this.#max = this.before;
    this.#timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const m = memoryOf(this.#pid);
    if (m && m.rss > this.#max) this.#max = m.rss;
  }

  /** Stop sampling; the peak seen and the growth over the value at the start. */
  stop(): { max: number; growth: number } {
    clearInterval(this.#timer);
    this.sample();
    return { max: this.#max, growth: this.#max - this.before };
  }
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  /**
   * Peak resident set of the process (VmHWM, read from /proc while it runs),
   * bytes. Not getrusage: a child spawned with vfork semantics inherits the
   * parent's high-water mark in ru_maxrss.
   */
  maxRss: number;
}

/** Run a command to the end, timed; never throws for a non-zero exit (see `check`). */
export async function runTimed(cmd: string[], options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Ran> {
  const started = performance.now();
  const child = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeoutMs ?? 600_000,
    killSignal: "SIGKILL",
  });
  let maxRss = 0;
  const sample = () => {
    const hwm = memoryOf(child.pid)?.hwm;
    if (hwm !== undefined && hwm > maxRss) maxRss = hwm;
  };
  // VmHWM only grows, so the last sample before exit holds every earlier peak.
  const sampler = setInterval(sample, 10);
  sample();
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  return { code, stdout, stderr, seconds, maxRss: maxRss || NaN };
}

/** Throw with the command's output when it failed. */
export function check(ran: Ran, what: string): Ran {
  if (ran.code !== 0) {
    const output = (ran.stderr || ran.stdout).trim().split("\n").slice(-5).join(" | ");
    throw new Error(`${what} failed (exit ${ran.code}): ${output}`);
  }
  return ran;
}

/** A port the kernel says is free now (it may be taken again before use; the caller retries on that). */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Run `work` over `items` with at most `limit` at once (as `xargs -P`). */
export async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
