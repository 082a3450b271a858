/**
 * What `GET /metrics` reports. Request counters and the latency histogram
 * are fed by the registry's per-request observer; store gauges (blobs,
 * bytes, uploads in progress) are read from the metadata at scrape time,
 * so they are right for every process sharing the store.
 */
import type { RequestObservation } from "../registry/index.ts";
import type { JobView } from "./jobs.ts";
import { type Family, formatFamilies, type Sample } from "./prometheus-text.ts";

/** Latency buckets in seconds: from a cached HEAD to a multi-GiB layer. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export interface StoreTotals {
  blobs: number;
  blobBytes: number;
  manifests: number;
  repositories: number;
  uploads: number;
}

export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #latency = new Map<string, Histogram>();
  #bytesIn = 0;
  #bytesOut = 0;
  readonly #jobs = new Map<string, number>();
  #gcRuns = 0;
  #gcFailures = 0;
  #gcFreed = 0;

  constructor(private readonly version: string) {}

  /** The registry app's observer. */
  readonly observeRequest = (o: RequestObservation): void => {
    const key = `${o.method}\u0000${o.route}\u0000${o.status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const hkey = `${o.method}\u0000${o.route}`;
    let h = this.#latency.get(hkey);
    if (!h) this.#latency.set(hkey, (h = { counts: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 }));
    const i = LATENCY_BUCKETS.findIndex((le) => o.seconds <= le);
    if (i >= 0) h.counts[i]!++;
    h.sum += o.seconds;
    h.count++;
    this.#bytesIn += o.bytesIn;
    this.#bytesOut += o.bytesOut;
  };

  jobFinished(job: JobView): void {
    const key = `${job.kind}\u0000${job.state}`;
    this.#jobs.set(key, (this.#jobs.get(key) ?? 0) + 1);
    if (job.kind === "gc") {
      this.#gcRuns++;
      if (job.state === "failed") this.#gcFailures++;
    }
  }

  gcFreed(bytes: number): void {
    this.#gcFreed += bytes;
  }

  render(totals: StoreTotals, activeJobs: number): string {
    const requests: Sample[] = [...this.#requests].map(([key, value]) => {
      const [method, route, status] = key.split("\u0000") as [string, string, string];
      return { labels: { method, route, status }, value };
    });
    const latency: Sample[] = [];
    for (const [key, h] of this.#latency) {
      const [method, route] = key.split("\u0000") as [string, string];
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i]!;
        latency.push({ suffix: "_bucket", labels: { method, route, le: String(le) }, value: cumulative });
      });
      latency.push({ suffix: "_bucket", labels: { method, route, le: "+Inf" }, value: h.count });
      latency.push({ suffix: "_sum", labels: { method, route }, value: h.sum });
      latency.push({ suffix: "_count", labels: { method, route }, value: h.count });
    }
    const jobs: Sample[] = [...this.#jobs].map(([key, value]) => {
      const [kind, state] = key.split("\u0000") as [string, string];
      return { labels: { kind, state }, value };
    });
    const families: Family[] = [
      { name: "stevedore_build_info", help: "The running version.", type: "gauge", samples: [{ labels: { version: this.version }, value: 1 }] },
      { name: "stevedore_http_requests_total", help: "Registry requests by method, route and status.", type: "counter", samples: requests },
      { name: "stevedore_http_request_duration_seconds", help: "Registry request latency by method and route.", type: "histogram", samples: latency },
      { name: "stevedore_http_received_bytes_total", help: "Request body bytes the registry read.", type: "counter", samples: [{ value: this.#bytesIn }] },
      { name: "stevedore_http_sent_bytes_total", help: "Response body bytes the registry sent (as announced by Content-Length).", type: "counter", samples: [{ value: this.#bytesOut }] },
      { name: "stevedore_uploads_in_progress", help: "Blob upload sessions open in the store.", type: "gauge", samples: [{ value: totals.uploads }] },
      { name: "stevedore_store_blobs", help: "Blobs stored.", type: "gauge", samples: [{ value: totals.blobs }] },
      { name: "stevedore_store_blob_bytes", help: "Bytes of the blobs stored (each blob once).", type: "gauge", samples: [{ value: totals.blobBytes }] },
      { name: "stevedore_store_manifests", help: "Manifests stored (per repository).", type: "gauge", samples: [{ value: totals.manifests }] },
      { name: "stevedore_store_repositories", help: "Repositories in the store.", type: "gauge", samples: [{ value: totals.repositories }] },
      { name: "stevedore_jobs_active", help: "Admin jobs queued or running.", type: "gauge", samples: [{ value: activeJobs }] },
      { name: "stevedore_jobs_finished_total", help: "Admin jobs finished, by kind and final state.", type: "counter", samples: jobs },
      { name: "stevedore_gc_runs_total", help: "Garbage collection runs finished (dry runs included).", type: "counter", samples: [{ value: this.#gcRuns }] },
      { name: "stevedore_gc_failures_total", help: "Garbage collection runs that failed.", type: "counter", samples: [{ value: this.#gcFailures }] },
      { name: "stevedore_gc_freed_bytes_total", help: "Bytes garbage collection removed from the store.", type: "counter", samples: [{ value: this.#gcFreed }] },
    ];
    return formatFamilies(families);
  }
}
