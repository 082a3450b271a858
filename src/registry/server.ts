/** Bun.serve around the registry app, with the limits a registry needs. */
import type { Hono } from "hono";

export interface ListenOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** PEM files. */
  tls?: { cert: string; key: string };
}

export interface RunningServer {
  /** `http://host:port` with the real port. */
  url: string;
  port: number;
  /** Stop accepting, let in-flight requests finish for up to `graceMs`, then cut the rest. */
  stop(graceMs?: number): Promise<void>;
}

export function listen(app: Hono<any>, options: ListenOptions): RunningServer {
  const server = Bun.serve({
    hostname: options.hostname,
    port: options.port,
    fetch: app.fetch,
    // Bun's default (128 MiB) would cut off layer uploads; layers of tens of GiB exist.
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    // Seconds a connection may sit without traffic (the maximum Bun allows):
    // clients pause between chunks, and committing a big blob takes a while.
    idleTimeout: 255,
    ...(options.tls ? { tls: { cert: Bun.file(options.tls.cert), key: Bun.file(options.tls.key) } } : {}),
  });
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const port = server.port ?? options.port;
  return {
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    async stop(graceMs = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const graceful = server.stop(false);
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), graceMs);
      });
      if ((await Promise.race([graceful, timeout])) === "timeout") await server.stop(true);
      clearTimeout(timer);
    },
  };
}
