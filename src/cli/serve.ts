import { readFile } from "node:fs/promises";
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
import { Store } from "../store/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseDuration } from "./duration.ts";

const DEFAULT_ADDR = "127.0.0.1:5000";
const DEFAULT_ROOT = "./stevedore-data";

export const serveCommand: Command = {
  name: "serve",
  summary: "Run the site registry (OCI Distribution API) on the embedded store",
  help: `Usage: stevedore serve [OPTIONS]

Serve the OCI Distribution API (and the Docker Registry v2 conventions) from
the embedded store: blobs under --root, metadata in an SQLite file beside
them. Prints "listening on URL" on stderr when ready, one access log line per
request, and stops cleanly on SIGINT/SIGTERM.

Options:
  --addr HOST:PORT       where to listen (default ${DEFAULT_ADDR}; port 0 picks a free one)
  --root DIR             the store directory (default ${DEFAULT_ROOT})
  --tls-cert FILE        serve HTTPS with this PEM certificate (needs --tls-key)
  --tls-key FILE         the certificate's PEM private key
  --htpasswd FILE        require basic auth; bcrypt entries (htpasswd -B)
  --read-only            refuse every write
  --no-delete            refuse deletes of manifests, tags and blobs
  --log-format FORMAT    access log as text (default) or json
  --upload-ttl DURATION  drop upload sessions idle this long (default 24h)
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      addr: { type: "string", default: DEFAULT_ADDR },
      root: { type: "string", default: DEFAULT_ROOT },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      htpasswd: { type: "string" },
      "read-only": { type: "boolean" },
      "no-delete": { type: "boolean" },
      "log-format": { type: "string", default: "text" },
      "upload-ttl": { type: "string", default: "24h" },
    });
    if (!flags) return EXIT.ok;
    const v = flags.values;
    if (flags.positionals.length > 0) throw new UsageError(`serve: unexpected argument ${JSON.stringify(flags.positionals[0])}`);
    const { hostname, port } = parseAddr(v.addr);
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

    const store = await Store.open({ root: v.root }).catch((error: Error) => {
      throw new CommandError(`cannot open the store at ${JSON.stringify(v.root)}: ${error.message}`);
    });
    const app = createRegistryApp(store, {
      readOnly: v["read-only"] ?? false,
      noDelete: v["no-delete"] ?? false,
      ...(auth ? { auth } : {}),
      accessLog: (entry) => ctx.stderr.write(formatAccessLog(entry, logFormat as AccessLogFormat)),
      onFault: (error, request) => {
        const detail = error instanceof Error ? (ctx.env.STEVEDORE_DEBUG && error.stack ? error.stack : error.message) : String(error);
        ctx.stderr.write(`stevedore: internal error on ${request.method} ${new URL(request.url).pathname}: ${detail}\n`);
      },
    });

    let server: RunningServer;
    try {
      server = listen(app, { hostname, port, ...(tls ? { tls } : {}) });
    } catch (error) {
      await store.close();
      throw new CommandError(`cannot listen on ${v.addr}: ${(error as Error).message}`);
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

    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener("abort", () => resolve(), { once: true });
    });
    ctx.stderr.write("stevedore: stopping\n");
    clearInterval(sweeper);
    await server.stop();
    await store.close();
    return EXIT.ok;
  },
};

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseAddr(addr: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new UsageError(`serve: invalid --addr ${JSON.stringify(addr)}; expected HOST:PORT, e.g. ${DEFAULT_ADDR}`);
  return { hostname: match[1] ?? (match[2] || "0.0.0.0"), port };
}

async function mustRead(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new CommandError(`cannot read ${what} ${JSON.stringify(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
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
