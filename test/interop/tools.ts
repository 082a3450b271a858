/**
 * Running the real clients of the interop suite. A client that is not
 * installed fails its tests (these are the registry's real users; a
 * missing one must not pass silently).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The absolute path of a client, or an error naming the package to install. */
export function requireTool(name: string, install = `apt-get install ${name}`): string {
  const path = Bun.which(name);
  if (!path) throw new Error(`${name} is not installed; the interop suite drives the real client (${install})`);
  return path;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface ExecOptions {
  env?: Record<string, string>;
  stdin?: string;
  cwd?: string;
}

export async function exec(cmd: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const child = Bun.spawn(cmd, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/** exec, throwing with the command's output (and `context()`, e.g. the registry's log) when it fails. */
export async function mustExec(cmd: string[], options: ExecOptions & { context?: () => string } = {}): Promise<string> {
  const result = await exec(cmd, options);
  if (result.code !== 0) {
    const context = options.context ? `\n--- registry log (tail) ---\n${options.context().slice(-4000)}` : "";
    throw new Error(`${cmd.join(" ")} failed (exit ${result.code}):\n${result.stderr || result.stdout}${context}`);
  }
  return result.stdout;
}

/** A command's stdout as bytes (binary output: blobs); throws when it fails. */
export async function execBytes(cmd: string[]): Promise<Uint8Array> {
  const child = Bun.spawn(cmd, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).arrayBuffer(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code}): ${err}`);
  return new Uint8Array(out);
}

/**
 * A temp directory removed by `using` (or `remove()`). Its name is
 * lowercase: podman names an image pulled from `oci:DIR` after the path,
 * and a reference cannot hold capitals.
 */
export function tempDir(prefix: string): { path: string; remove(): void; [Symbol.dispose](): void } {
  const path = join(tmpdir(), `stevedore-${prefix}-${crypto.randomUUID().slice(0, 8)}`);
  mkdirSync(path, { mode: 0o700 });
  const remove = () => rmSync(path, { recursive: true, force: true });
  return { path, remove, [Symbol.dispose]: remove };
}

/**
 * Private configuration for podman and buildah: storage, registries,
 * policy, auth file and temp files live under `dir`, not in the machine's
 * own (the blob-info cache of containers/image stays system-wide; it lets a
 * client swap a layer for a copy it pushed earlier in another compression,
 * so compare configs, not manifest digests, after a client re-pushes) (keep it short: podman refuses a runroot
 * path of more than 50 characters). Returns the environment to run them with
 * and the global flags that select the storage.
 */
export function containersSandbox(dir: string): { env: Record<string, string>; storageFlags: string[]; policy: string; authFile: string } {
  const root = join(dir, "root");
  const runroot = join(dir, "run");
  const tmp = join(dir, "tmp");
  for (const d of [root, runroot, tmp]) mkdirSync(d, { recursive: true });
  const policy = join(dir, "policy.json");
  writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const registries = join(dir, "registries.conf");
  writeFileSync(registries, "unqualified-search-registries = []\n");
  const storage = join(dir, "storage.conf");
  writeFileSync(storage, `[storage]\ndriver = "vfs"\ngraphroot = "${root}"\nrunroot = "${runroot}"\n`);
  const containers = join(dir, "containers.conf");
  // No journald or syslog on a build machine; nothing here runs a container.
  writeFileSync(containers, `[engine]\nevents_logger = "none"\n`);
  // podman refuses an --authfile (or REGISTRY_AUTH_FILE) that does not exist.
  const authFile = join(dir, "auth.json");
  writeFileSync(authFile, JSON.stringify({ auths: {} }));
  return {
    env: {
      CONTAINERS_CONF: containers,
      CONTAINERS_REGISTRIES_CONF: registries,
      CONTAINERS_STORAGE_CONF: storage,
      REGISTRY_AUTH_FILE: authFile,
      TMPDIR: tmp,
    },
    storageFlags: ["--root", root, "--runroot", runroot, "--storage-driver", "vfs"],
    policy,
    authFile,
  };
}
