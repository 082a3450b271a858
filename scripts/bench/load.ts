/**
 * A small HTTP load generator, run as its own process so that it never
 * shares an event loop with what it measures: `concurrency` keep-alive
 * loops send requests round-robin over `urls` for `seconds` (after a
 * warm-up), reading every body to the end. Prints one JSON result.
 *
 *   bun scripts/bench/load.ts '{"urls":["http://127.0.0.1:5000/v2/"],"method":"GET","concurrency":32,"seconds":5}'
 *
 * `runLoad(spec)` spawns it and returns the parsed result.
 */

export interface LoadSpec {
  urls: string[];
  method: "GET" | "HEAD";
  headers?: Record<string, string>;
  concurrency: number;
  seconds: number;
  warmupSeconds?: number;
}

export interface LoadResult {
  requests: number;
  /** Responses that were not 200, and failed requests. */
  errors: number;
  seconds: number;
  perSecond: number;
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
  /** The first error seen, to tell why. */
  firstError?: string;
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const warmupEnd = performance.now() + (spec.warmupSeconds ?? 0) * 1000;
  let measuring = false;
  let start = 0;
  let end = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  // Latencies of measured requests, ms; grown as needed.
  let latencies = new Float64Array(1 << 16);
  let next = 0;
  const record = (ms: number) => {
    if (requests === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[requests++] = ms;
  };
  const loop = async () => {
    for (;;) {
      const now = performance.now();
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        start = now;
        end = now + spec.seconds * 1000;
      }
      if (measuring && now >= end) return;
      const url = spec.urls[next++ % spec.urls.length]!;
      const sent = performance.now();
      let ok = false;
      try {
        const response = await fetch(url, { method: spec.method, headers: spec.headers });
        await response.arrayBuffer();
        ok = response.status === 200;
        if (!ok) firstError ??= `${spec.method} ${url}: ${response.status}`;
      } catch (error) {
        firstError ??= `${spec.method} ${url}: ${(error as Error).message}`;
      }
      if (measuring) {
        if (ok) record(performance.now() - sent);
        else errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
  const seconds = (performance.now() - start) / 1000;
  const measured = latencies.subarray(0, requests).sort();
  const pct = (p: number) => (requests ? measured[Math.min(requests - 1, Math.floor(p * requests))]! : NaN);
  return {
    requests,
    errors,
    seconds,
    perSecond: requests / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    ...(firstError ? { firstError } : {}),
  };
}

/** Run the load generator in its own Bun process. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = Bun.spawn([process.execPath, import.meta.path, JSON.stringify(spec)], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`load generator failed (exit ${code}): ${err.trim()}`);
  return JSON.parse(out) as LoadResult;
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? "") as LoadSpec;
  process.stdout.write(`${JSON.stringify(await generate(spec))}\n`);
}
