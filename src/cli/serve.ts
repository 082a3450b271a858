import { readFile, stat } from "node:fs/promises";
// The admin API (with the sync engine, transports and registry client behind its jobs) and the gc
// schedule load only when asked for: a plain serve starts without their code.
import type { Admin, JobQueue, TokenCheck } from "../admin/index.ts";
import {
  type AccessLogFormat,
  BasicAuthenticator,
  createRegistryApp,
  formatAccessLog,
  HtpasswdError,
  listen,
  parseHtpasswd,
  type RunningServer,
} from "../registry/index.ts";
import { systemErrorReason } from "../oci/index.ts";
import { PullRecorder, Store } from "../store/index.ts";
import { VERSION } from "../version.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";
import { resolveStoreFlags } from "./open-store.ts";
import type { ServeConfig } from "./serve-config.ts";

const DEFAULT_ADDR = "127.0.0.1:5000";
const DEFAULT_ROOT = "./stevedore-data";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the site registry (OCI Distribution API) on the embedded store",
  help: `Usage: stevedore serve [OPTIONS]

Serve the OCI Distribution API (and the Docker Registry v2 conventions) from
the embedded store: blobs under --root, metadata in an SQLite file beside
them. Several serve processes (on one node or many) share one store when its
metadata is in PostgreSQL and its blobs in an S3-compatible object store:
  --metadata postgres://user:pass@db:5432/stevedore --blobs s3://bucket/prefix
with the object store's endpoint and keys from --s3-endpoint, --s3-region
and AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.
Prints which store it uses and "listening on URL" on stderr when ready, one
access log line per request, and stops cleanly on SIGINT/SIGTERM.

Options:
  --addr HOST:PORT       where to listen (default ${DEFAULT_ADDR}; port 0 picks a free one)
  --root DIR             the store directory (default ${DEFAULT_ROOT})
  --metadata URL         metadata database: sqlite://FILE or postgres://… (default: SQLite in --root)
  --blobs LOCATION       where blobs live: a directory or s3://bucket/prefix (default: --root)
  --s3-endpoint URL      the object store, e.g. http://rgw.site:7480 (default: AWS_ENDPOINT_URL)
  --s3-region REGION     its region (default: AWS_REGION, else us-east-1)
  --s3-part-size SIZE    multipart part size for uploads to S3 (default 16MiB, at least 5MiB)
  --blob-redirect        answer blob GETs with a redirect to a presigned URL of the object
                         store (clients must reach it); default: stream through serve
  --tls-cert FILE        serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE         the certificate's PEM private key
  --htpasswd FILE        require basic auth; bcrypt entries (htpasswd -B)
  --read-only            refuse every write
  --no-delete            refuse deletes of manifests, tags and blobs
  --log-format FORMAT    access log as text (default) or json
  --upload-ttl DURATION  drop upload sessions idle this long (default 24h)
  --admin-addr HOST:PORT serve the admin API, metrics and status page there (default: off)
  --admin-token-file F   the admin API's bearer token (required with --admin-addr; at least
                         16 characters, e.g. openssl rand -hex 32 > F; chmod 600 F)
  --config FILE          read these options from a YAML or JSON file (same names, plus a
                         gc schedule); flags on the command line win
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      addr: { type: "string" },
      root: { type: "string" },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      htpasswd: { type: "string" },
      "read-only": { type: "boolean" },
      "no-delete": { type: "boolean" },
      "log-format": { type: "string" },
      "upload-ttl": { type: "string" },
      "admin-addr": { type: "string" },
      "admin-token-file": { type: "string" },
      metadata: { type: "string" },
      blobs: { type: "string" },
      "s3-endpoint": { type: "string" },
      "s3-region": { type: "string" },
      "s3-part-size": { type: "string" },
      "blob-redirect": { type: "boolean" },
      config: { type: "string" },
    });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length > 0) throw new UsageError(`serve: unexpected argument ${JSON.stringify(flags.positionals[0])}`);
    const config: ServeConfig = flags.values.config ? await (await import("./serve-config.ts")).loadServeConfig(flags.values.config) : {};
    // The command line wins over the file, the file over the defaults.
    const { config: _, ...given } = flags.values;
    const v = {
      ...config,
      ...Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)),
    } as Omit<ServeConfig, "gc">;
    v.addr ??= DEFAULT_ADDR;
    v.root ??= DEFAULT_ROOT;
    v["log-format"] ??= "text";
    v["upload-ttl"] ??= "24h";
    const { hostname, port } = parseAddr(v.addr);
    const adminAddr = v["admin-addr"] !== undefined ? parseAddr(v["admin-addr"], "--admin-addr") : undefined;
    if (adminAddr && !v["admin-token-file"]) {
      throw new UsageError("serve: --admin-addr needs --admin-token-file FILE, a file holding the admin API's bearer token");
    }
    if (!adminAddr && v["admin-token-file"]) throw new UsageError("serve: --admin-token-file goes with --admin-addr");
    if (!!v["tls-cert"] !== !!v["tls-key"]) throw new UsageError("serve: --tls-cert and --tls-key go together");
    const logFormat = v["log-format"];
    if (logFormat !== "text" && logFormat !== "json") {
      throw new UsageError(`serve: --log-format must be text or json, not ${JSON.stringify(logFormat)}`);
    }
    const uploadTtl = parseDuration(v["upload-ttl"], "--upload-ttl");
    if (uploadTtl <= 0) throw new UsageError("serve: --upload-ttl must be more than zero");
    const tls = v["tls-cert"] ? { cert: v["tls-cert"], key: v["tls-key"]! } : undefined;
    if (tls) for (const file of [tls.cert, tls.key]) await mustRead(file, "TLS file");
    const auth = v.htpasswd ? await loadHtpasswd(v.htpasswd) : undefined;
    const token = v["admin-token-file"] ? await loadToken(v["admin-token-file"], ctx.stderr) : undefined;
    const scheduler = config.gc ? await import("./serve-gc-schedule.ts") : undefined;
    if (config.gc && scheduler) await scheduler.checkGcSchedule(config.gc);

    const location = storeLocation(v, ctx.env);
    if (v["blob-redirect"] && !v.blobs?.startsWith("s3://")) throw new UsageError("serve: --blob-redirect needs blobs in an object store (--blobs s3://…)");
    const store = await Store.open(location.options).catch((error: Error) => {
      throw new CommandError(`cannot open the store (metadata ${location.metadata}, blobs ${location.blobs}): ${error.message}`);
    });
    ctx.stderr.write(`stevedore: metadata in ${location.metadata}; blobs in ${location.blobs}${v["blob-redirect"] ? " (GETs redirected)" : ""}\n`);
    const pulls = new PullRecorder(store.metadata, {
      onError: (error) => ctx.stderr.write(`stevedore: recording pull times failed: ${(error as Error).message}\n`),
    });
    const onFault = (error: unknown, request: Request) => {
      const detail = error instanceof Error ? (ctx.env.STEVEDORE_DEBUG && error.stack ? error.stack : error.message) : String(error);
      ctx.stderr.write(`stevedore: internal error on ${request.method} ${new URL(request.url).pathname}: ${detail}\n`);
    };
    const adminModule = token || config.gc ? await import("../admin/index.ts") : undefined;
    const admin: Admin | undefined = token && adminModule ? adminModule.createAdmin({ store, token, version: VERSION, onFault, beforeGc: () => pulls.flush() }) : undefined;
    // Scheduled gc runs as jobs: in the admin API's queue, or a queue of its own.
    const jobs: JobQueue | undefined = admin?.jobs ?? (config.gc && adminModule ? new adminModule.JobQueue() : undefined);
    let stopGc: (() => void) | undefined;
    if (config.gc && jobs && scheduler) {
      try {
        stopGc = await scheduler.startGcSchedule(config.gc, {
          store,
          jobs,
          log: (line) => ctx.stderr.write(`${line}\n`),
          beforeRun: () => pulls.flush(),
          ...(admin ? { onFreed: (bytes: number) => admin.metrics.gcFreed(bytes) } : {}),
        });
      } catch (error) {
        await pulls.close();
        await store.close();
        throw error;
      }
    }
    const app = createRegistryApp(store, {
      readOnly: v["read-only"] ?? false,
      noDelete: v["no-delete"] ?? false,
      onPull: (repository, digest) => pulls.record(repository, digest),
      blobRedirect: v["blob-redirect"] ?? false,
      ...(admin ? { observer: admin.metrics.observeRequest } : {}),
      ...(auth ? { auth } : {}),
      accessLog: (entry) => ctx.stderr.write(formatAccessLog(entry, logFormat as AccessLogFormat)),
      onFault,
    });

    let server: RunningServer;
    let adminServer: RunningServer | undefined;
    try {
      server = listen(app, { hostname, port, ...(tls ? { tls } : {}) });
    } catch (error) {
      stopGc?.();
      await pulls.close();
      await store.close();
      throw new CommandError(`Cannot listen on ${v.addr}: ${systemErrorReason(error)}`);
    }
    if (admin && adminAddr) {
      try {
        // The admin API carries a token: over TLS whenever the registry is.
        adminServer = listen(admin.app, { ...adminAddr, ...(tls ? { tls } : {}) });
      } catch (error) {
        await server.stop(0);
        stopGc?.();
        await pulls.close();
        await store.close();
        throw new CommandError(`Cannot listen on ${v["admin-addr"]}: ${systemErrorReason(error)}`);
      }
    }
    const sweep = async () => {
      try {
        const removed = await store.sweepUploads(uploadTtl);
        if (removed > 0) ctx.stderr.write(`stevedore: removed ${removed} abandoned upload(s)\n`);
      } catch (error) {
        ctx.stderr.write(`stevedore: sweeping uploads failed: ${(error as Error).message}\n`);
      }
    };
    const sweeper = v["read-only"] ? undefined : setInterval(sweep, Math.min(uploadTtl / 4, 3_600_000));
    if (!v["read-only"]) void sweep();
    ctx.stderr.write(`listening on ${server.url}\n`);
    if (adminServer) ctx.stderr.write(`admin API on ${adminServer.url}\n`);

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    ctx.stderr.write("stevedore: stopping\n");
    clearInterval(sweeper);
    stopGc?.();
    await adminServer?.stop();
    await jobs?.close();
    await server.stop();
    await pulls.close();
    await store.close();
    return EXIT.ok;
  },
};

/** The store of --root, --metadata, --blobs and the S3 options; bad values are usage errors. */
function storeLocation(v: Omit<ServeConfig, "gc">, env: Record<string, string | undefined>) {
  return resolveStoreFlags(v, env, "serve", v["s3-part-size"] ? { partSize: parseSize(v["s3-part-size"], "--s3-part-size") } : {});
}

/** `16MiB`, `8M`, `5242880`: binary units. */
export function parseSize(text: string, flag: string): number {
  const match = /^(\d+)(?:([KMG])i?B?)?$/i.exec(text);
  if (!match) throw new UsageError(`serve: invalid ${flag} ${JSON.stringify(text)}; expected a size such as 16MiB`);
  const unit = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(match[2] ?? "").toUpperCase() as "" | "K" | "M" | "G"];
  return Number(match[1]) * unit;
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseAddr(addr: string, flag = "--addr"): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`serve: invalid ${flag} ${JSON.stringify(addr)}; expected HOST:PORT, e.g. ${DEFAULT_ADDR}`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

async function mustRead(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CommandError(`Cannot read ${what} ${JSON.stringify(file)}: ${systemErrorReason(error)}`);
  }
}

/** The admin token from its file; refused when empty or too short. Never printed. */
async function loadToken(file: string, stderr: { write(text: string): void }): Promise<TokenCheck> {
  const text = await mustRead(file, "admin token file");
  const { TokenCheck, tokenFromFile } = await import("../admin/index.ts");
  let check: TokenCheck;
  try {
    check = new TokenCheck(tokenFromFile(text));
  } catch (error) {
    throw new CommandError(`admin token file ${JSON.stringify(file)}: ${(error as Error).message}`);
  }
  const mode = (await stat(file)).mode;
  if (mode & 0o004) stderr.write(`stevedore: warning: admin token file ${JSON.stringify(file)} is readable by every user (chmod 600 or 640)\n`);
  return check;
}

async function loadHtpasswd(file: string): Promise<BasicAuthenticator> {
  const text = await mustRead(file, "htpasswd file");
  try {
    const users = parseHtpasswd(text, file);
    if (users.size === 0) throw new CommandError(`htpasswd file ${JSON.stringify(file)} has no users`);
    return new BasicAuthenticator(users);
  } catch (error) {
    if (error instanceof HtpasswdError) throw new CommandError(error.message);
    throw error;
  }
}
