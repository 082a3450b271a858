/**
 * The real `stevedore serve` as a child process: port 0, a temp root
 * (unless one is given), the port read back from its "listening on" line.
 * Stopped with SIGTERM by `stop()` or `await using`; `kill()` is kill -9.
 *
 *   await using serve = await startServe();
 *   serve.host   // "127.0.0.1:43121"
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MAIN = resolve(import.meta.dir, "../../src/main.ts");

export interface ServeOptions {
  /** Store directory; default a temp dir removed on stop. */
  root?: string;
  /** Extra flags (--htpasswd, --tls-cert, ...). */
  args?: string[];
  /** Extra environment variables (AWS_* for an S3 store). */
  env?: Record<string, string>;
}

export interface RunningServe {
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  root: string;
  /** Everything it printed on stderr so far. */
  log(): string;
  /** Resolves with the first match of `pattern` in the log, as soon as it is printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** SIGTERM, then wait; resolves with the exit code. */
  stop(): Promise<number>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function startServe(options: ServeOptions = {}): Promise<RunningServe> {
  const owned = options.root === undefined;
  const root = options.root ?? mkdtempSync(join(tmpdir(), "stevedore-serve-"));
  const child = Bun.spawn([process.execPath, MAIN, "serve", "--addr", "127.0.0.1:0", "--root", root, ...(options.args ?? [])], {
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    stdout: "ignore",
    stderr: "pipe",
    stdin: "ignore",
  });
  let log = "";
  const watchers = new Set<() => void>();
  const { promise: ready, resolve: onReady, reject: onFail } = Promise.withResolvers<string>();
  const pump = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      for (const w of watchers) w();
      const match = /listening on (https?:\/\/\S+)/.exec(log);
      if (match) onReady(match[1]!);
    }
    onFail(new Error(`stevedore serve exited before listening:\n${log}`));
  })();
  const timer = setTimeout(() => onFail(new Error(`stevedore serve did not start in 20s:\n${log}`)), 20_000);
  let url: string;
  try {
    url = await ready;
  } catch (error) {
    child.kill("SIGKILL");
    if (owned) rmSync(root, { recursive: true, force: true });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  const parsed = new URL(url);
  let done = false;
  const finish = async () => {
    await child.exited;
    await pump;
    if (owned && !done) rmSync(root, { recursive: true, force: true });
    done = true;
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    const code = await child.exited;
    await finish();
    return code;
  };
  return {
    url,
    host: parsed.host,
    port: Number(parsed.port),
    root,
    log: () => log,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise<RegExpExecArray>((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(log);
          if (!match) return;
          watchers.delete(check);
          clearTimeout(timer);
          resolve(match);
        };
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${pattern} did not appear in the log within ${timeoutMs} ms:\n${log.slice(-2000)}`));
        }, timeoutMs);
        watchers.add(check);
        check();
      });
    },
    stop,
    async kill() {
      child.kill("SIGKILL");
      await child.exited;
      await pump;
    },
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Run a command; throws with its output when it fails. */
export async function run(cmd: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  const child = Bun.spawn(cmd, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code}): ${err || out}`);
  return out;
}

/** A self-signed certificate for 127.0.0.1 and localhost (EC P-256, fast to make). */
export async function selfSignedCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, "server.crt");
  const key = join(dir, "server.key");
  await run([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  return { cert, key };
}
