/**
 * When to try a request again, and how long to wait: only answers that can
 * change (408, 429, 5xx except "not implemented") and dropped connections,
 * with full-jitter exponential backoff, honouring `Retry-After`.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  attempts: number;
  /** First backoff step in ms; each further step doubles. */
  baseDelayMs: number;
  /** Longest wait between attempts, `Retry-After` included. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Certificate and name errors do not heal by waiting; dropped or refused connections may. */
export function isRetryableNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  const text = `${typeof code === "string" ? code : ""} ${(error as Error)?.message ?? ""}`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|TLS|SSL|ERR_INVALID_URL|HOSTNAME|ALTNAME/i.test(text)) return false;
  if ((error as Error)?.name === "AbortError" || (error as Error)?.name === "TimeoutError") return false;
  return true;
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 1). */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter: many clients retrying at once spread out instead of stampeding.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
