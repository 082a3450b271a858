/**
 * The admin side of `serve`, put together: metrics fed by the registry's
 * observer, the job queue, and the Hono app over the served store.
 *
 *   const admin = createAdmin({ store, token, version: VERSION, runGc });
 *   createRegistryApp(store, { observer: admin.metrics.observeRequest, ... });
 *   listen(admin.app, { hostname, port });
 *   ...
 *   await admin.close();   // cancels jobs, waits for the running one
 */
import type { Hono } from "hono";
import { type AdminAppOptions, createAdminApp } from "./admin-app.ts";
import { storeGcRunner } from "./gc-job.ts";
import { JobQueue } from "./jobs.ts";
import { Metrics } from "./metrics.ts";

export interface AdminOptions extends Omit<AdminAppOptions, "metrics" | "jobs"> {
  version: string;
  /** Run before each gc (serve flushes the pull times it buffers). */
  beforeGc?: () => Promise<void>;
}

export interface Admin {
  app: Hono;
  metrics: Metrics;
  jobs: JobQueue;
  close(): Promise<void>;
}

export function createAdmin(options: AdminOptions): Admin {
  const { version, beforeGc, ...rest } = options;
  const metrics = new Metrics(version);
  const jobs = new JobQueue({ onFinished: (job) => metrics.jobFinished(job) });
  const runGc = rest.runGc ?? storeGcRunner(rest.store, beforeGc);
  const app = createAdminApp({ ...rest, runGc, metrics, jobs });
  return { app, metrics, jobs, close: () => jobs.close() };
}
