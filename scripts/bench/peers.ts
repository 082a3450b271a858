/**
 * The two registries under test, each its own process on 127.0.0.1 with a
 * fresh temp root: `stevedore serve` (the built executable) and the CNCF
 * distribution registry (`docker-registry serve`, configured as the Debian
 * package ships it, storage moved to the temp root). Both log to a file
 * in their temp dir, access log on, as each does by default.
 *
 * Start-up is timed from spawn to the first `200` on `GET /v2/`.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dockerRegistryConfig } from "../../test/helpers/docker-registry.ts";
import { freePort } from "./proc.ts";

export type PeerKind = "stevedore" | "docker-registry";

export interface Registry {
  kind: PeerKind;
  pid: number;
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  /** Storage root (removed on stop, unless it was given). */
  root: string;
  /** Milliseconds from spawn to the first 200 on /v2/. */
  startupMs: number;
  log: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The stevedore executable (argv prefix), e.g. `["dist/stevedore"]`. */
  stevedore: string[];
  /** Serve this storage root (kept on stop) instead of a fresh temp one: a restart. */
  root?: string;
}

/** Start one registry; retried on a lost port race. */
export async function startRegistry(kind: PeerKind, options: StartOptions): Promise<Registry> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(kind, options);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(kind: PeerKind, options: StartOptions): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const root = options.root ?? join(dir, "root");
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const log = join(dir, "server.log");
  let cmd: string[];
  if (kind === "stevedore") {
    cmd = [...options.stevedore, "serve", "--addr", host, "--root", root];
  } else {
    writeFileSync(join(dir, "config.yml"), dockerRegistryConfig(root, host, "stevedore-bench-secret", { shipped: true }));
    cmd = ["docker-registry", "serve", join(dir, "config.yml")];
  }
  const fd = openSync(log, "w");
  const started = performance.now();
  const child = Bun.spawn(cmd, { stdin: "ignore", stdout: fd, stderr: fd });
  closeSync(fd);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await child.exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://${host}`;
  try {
    await firstOk(`${url}/v2/`, child, 20_000);
  } catch (error) {
    const text = await Bun.file(log).text().catch(() => "");
    await stop();
    throw new Error(`${kind} did not start: ${(error as Error).message}\n${text.slice(-2000)}`);
  }
  return { kind, pid: child.pid, host, url, root, startupMs: performance.now() - started, log, stop };
}

/** Poll until `url` answers 200 (or the process exits, or time runs out). */
async function firstOk(url: string, child: { exitCode: number | null }, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const response = await fetch(url, { keepalive: false });
      await response.arrayBuffer();
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(2);
  }
  throw new Error(`no 200 from ${url} in ${timeoutMs} ms`);
}
