/**
 * Waiting on several steps without leaving any behind: `Promise.all`
 * rejects at the first failure while the other steps still run, so an
 * image would be reported failed while its uploads go on. These wait for
 * every step, then fail with the first error.
 */
export async function settleAll<T>(steps: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/**
 * Stop waiting for `work` when `signal` aborts. The work itself may go on
 * (a file body handed to the kernel cannot be recalled); its outcome is
 * then ignored.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      work.catch(() => {});
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
