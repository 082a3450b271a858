/**
 * A real CNCF distribution registry (`docker-registry serve`) for tests:
 * temp storage root, port chosen by the kernel (read back from its log),
 * optional htpasswd auth, TLS with a self-signed certificate, and client
 * certificate verification. Stopped (and its files removed) by `stop()` or
 * `await using`.
 *
 *   await using registry = await startDockerRegistry({ auth: { username: "u", password: "p" } });
 *   registry.host   // "127.0.0.1:43121"
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface DockerRegistryOptions {
  /** htpasswd auth with one user (bcrypt, as `htpasswd -Bbn` writes it). */
  auth?: { username: string; password: string };
  /** Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost. */
  tls?: boolean;
  /** Also require a client certificate signed by a test CA (implies tls). */
  clientCertificates?: boolean;
  /** Extra environment (e.g. REGISTRY_STORAGE_DELETE_ENABLED). */
  env?: Record<string, string>;
}

export interface DockerRegistry {
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  /** Storage root (`docker/registry/v2/...` below it). */
  root: string;
  /** The directory with config.yml, htpasswd and certificates. */
  dir: string;
  /** The server certificate (PEM file), to trust as a CA. */
  caCert?: string;
  /** A client certificate and key the registry accepts (with clientCertificates). */
  clientCert?: string;
  clientKey?: string;
  /** Everything the registry printed (for failure messages). */
  log(): string;
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function run(cmd: string[], cwd?: string): Promise<string> {
  const child = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${code}): ${err || out}`);
  return out;
}

/** A self-signed CA-capable certificate (EC P-256, fast to make). */
async function makeCertificate(dir: string, name: string, subjectAltName?: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run([
    "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`,
    ...(subjectAltName ? ["-addext", `subjectAltName=${subjectAltName}`] : []),
  ]);
  return { cert, key };
}

/**
 * A config.yml for docker-registry: storage under `root`, deletes allowed,
 * upload purging off (its sweeps would race tests and measurements), no
 * access log. `shipped` is the configuration the Debian package ships
 * instead (access log on, blob descriptor cache, nosniff header, storage
 * health check; its htpasswd auth left out): what benchmarks compare with.
 */
export function dockerRegistryConfig(root: string, addr: string, secret: string, options: { shipped?: boolean } = {}): string {
  const shipped = options.shipped ?? false;
  const lines = [
    "version: 0.1",
    "log:",
    ...(shipped ? ["  fields:", "    service: registry"] : ["  level: info", "  accesslog:", "    disabled: true"]),
    "storage:",
    ...(shipped ? ["  cache:", "    blobdescriptor: inmemory"] : []),
    "  filesystem:",
    `    rootdirectory: ${root}`,
    "  delete:",
    "    enabled: true",
    "  maintenance:",
    "    uploadpurging:",
    "      enabled: false",
    "http:",
    `  addr: ${addr}`,
    `  secret: ${secret}`,
    ...(shipped ? ["  headers:", "    X-Content-Type-Options: [nosniff]"] : []),
    ...(shipped ? ["health:", "  storagedriver:", "    enabled: true", "    interval: 10s", "    threshold: 3"] : []),
  ];
  return `${lines.join("\n")}\n`;
}

export async function startDockerRegistry(options: DockerRegistryOptions = {}): Promise<DockerRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-docker-registry-"));
  const root = join(dir, "storage");
  const tls = options.tls || options.clientCertificates;
  let config = dockerRegistryConfig(root, "127.0.0.1:0", "stevedore-test-secret");
  const result: Partial<DockerRegistry> = { dir, root };
  try {
    if (tls) {
      const server = await makeCertificate(dir, "server", "IP:127.0.0.1,DNS:localhost");
      result.caCert = server.cert;
      config += `  tls:\n    certificate: ${server.cert}\n    key: ${server.key}\n`;
      if (options.clientCertificates) {
        const client = await makeCertificate(dir, "client");
        result.clientCert = client.cert;
        result.clientKey = client.key;
        config += `    clientcas:\n      - ${client.cert}\n`;
      }
    }
    if (options.auth) {
      const line = await run(["htpasswd", "-Bbn", options.auth.username, options.auth.password]);
      writeFileSync(join(dir, "htpasswd"), line.trim() + "\n");
      config += `auth:\n  htpasswd:\n    realm: stevedore-test\n    path: ${join(dir, "htpasswd")}\n`;
    }
    writeFileSync(join(dir, "config.yml"), config);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  const child = Bun.spawn(["docker-registry", "serve", join(dir, "config.yml")], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, ...options.env },
  });
  let output = "";
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    child.kill("SIGKILL");
    await child.exited;
    rmSync(dir, { recursive: true, force: true });
  };
  // The registry logs "listening on 127.0.0.1:PORT" once it accepts connections.
  const port = await new Promise<number>((resolve, reject) => {
    const decoder = new TextDecoder();
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        output += decoder.decode(chunk, { stream: true });
        const match = /listening on (?:\[[^\]]*\]|[0-9.]+):(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      }
    };
    void read(child.stderr);
    void read(child.stdout);
    void child.exited.then((code) => reject(new Error(`docker-registry exited (code ${code}) before listening:\n${output}`)));
  }).catch(async (error) => {
    await stop();
    throw error;
  });
  const scheme = tls ? "https" : "http";
  return {
    ...result,
    url: `${scheme}://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    port,
    root,
    dir,
    log: () => output,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
