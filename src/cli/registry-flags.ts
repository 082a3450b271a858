/**
 * The flags every command that talks to a registry shares, and the client
 * options they make. Commands spread REGISTRY_FLAGS into their own flags,
 * append REGISTRY_FLAGS_HELP to their help, and pass the parsed values to
 * registryOptions. Commands with two ends (sync, push) add
 * COPY_CREDENTIAL_FLAGS and call copyRegistryOptions.
 */
import { type Credentials, CredentialsError, parseCredentials, type RegistryClientOptions } from "../client/index.ts";
import { type CommandContext, UsageError } from "./command.ts";

export const REGISTRY_FLAGS = {
  creds: { type: "string" },
  username: { type: "string", short: "u" },
  "password-stdin": { type: "boolean" },
  authfile: { type: "string" },
  insecure: { type: "boolean" },
  "ca-cert": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "certs-dir": { type: "string", multiple: true },
} as const;

export const REGISTRY_FLAGS_HELP = `Registry access:
  --creds USER:PASS   credentials (default: docker config.json, podman auth.json, credential helpers)
  -u, --username USER with --password-stdin: credentials without the password on the command line
  --password-stdin    read the password from standard input (trailing newline dropped)
  --authfile FILE     read credentials from this file only
  --insecure          plain HTTP, or HTTPS without certificate verification
  --ca-cert FILE      trust this CA certificate (PEM) in addition to the system roots
  --cert FILE         client certificate (PEM), with --key FILE
  --key FILE          the client certificate's key
  --certs-dir DIR     where HOST:PORT/{*.crt,*.cert,*.key} are looked up
                      (default /etc/containers/certs.d and /etc/docker/certs.d; repeatable)
  Loopback registries (localhost, 127.0.0.0/8, ::1) may use plain HTTP without --insecure.`;

/** sync and push: credentials for one end only. */
export const COPY_CREDENTIAL_FLAGS = {
  "src-creds": { type: "string" },
  "dest-creds": { type: "string" },
} as const;

export const COPY_CREDENTIAL_FLAGS_HELP = `  --src-creds USER:PASS   credentials for SOURCE only, in place of --creds or --username
  --dest-creds USER:PASS  credentials for DEST only, in place of --creds or --username`;

type RegistryFlagContext = Pick<CommandContext, "env" | "signal" | "stdin">;

/**
 * Client options from parsed registry flags (values as `parseFlags` returns
 * them). With --password-stdin the password is read from standard input,
 * once, here.
 */
export async function registryOptions(values: Record<string, unknown>, ctx: RegistryFlagContext): Promise<RegistryClientOptions> {
  const text = flagText(values);
  const creds = credentialsFlag(values, "creds");
  const username = text("username");
  if (values["password-stdin"] && username === undefined) throw new UsageError("--password-stdin needs --username USER");
  if (username !== undefined && !values["password-stdin"]) throw new UsageError("--username goes with --password-stdin (or use --creds USER:PASS)");
  if (username !== undefined && creds) throw new UsageError("--creds and --username exclude each other");
  let credentials = creds;
  if (username !== undefined) {
    const password = await readPasswordStdin(ctx);
    if (password === "") throw new UsageError("--password-stdin: standard input is empty; pipe the password in, as in: stevedore ... --password-stdin < FILE");
    credentials = { username, password };
  }
  const cert = text("cert");
  const key = text("key");
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("--cert and --key go together");
  const certsDirs = values["certs-dir"] as string[] | undefined;
  return {
    ...(credentials ? { credentials } : {}),
    ...(text("authfile") ? { authFile: text("authfile") } : {}),
    ...(values.insecure ? { insecure: true } : {}),
    ...(text("ca-cert") ? { caCert: text("ca-cert") } : {}),
    ...(cert ? { clientCert: cert, clientKey: key } : {}),
    ...(certsDirs?.length ? { certDirs: certsDirs } : {}),
    env: ctx.env,
    signal: ctx.signal,
  };
}

/**
 * The client options of each end of a copy: the shared flags for both,
 * with --src-creds and --dest-creds taking the place of the shared
 * credentials on their side (as skopeo copy names them).
 */
export async function copyRegistryOptions(
  values: Record<string, unknown>,
  ctx: RegistryFlagContext,
): Promise<{ source: RegistryClientOptions; destination: RegistryClientOptions }> {
  const { "src-creds": _s, "dest-creds": _d, ...shared } = values;
  const sourceCreds = credentialsFlag(values, "src-creds");
  const destinationCreds = credentialsFlag(values, "dest-creds");
  // Both ends have their own: a password on standard input would go nowhere.
  if (sourceCreds && destinationCreds && (shared.creds !== undefined || shared.username !== undefined)) {
    throw new UsageError(`--${shared.creds !== undefined ? "creds" : "username"} applies to neither end when --src-creds and --dest-creds are both given`);
  }
  const options = await registryOptions(shared, ctx);
  return {
    source: sourceCreds ? { ...options, credentials: sourceCreds } : options,
    destination: destinationCreds ? { ...options, credentials: destinationCreds } : options,
  };
}

/**
 * Standard input up to its end, one trailing newline dropped. On a
 * terminal this waits for the password and Ctrl-D, as docker login does.
 */
export async function readPasswordStdin(ctx: Pick<CommandContext, "stdin">): Promise<string> {
  const text = await new Response(ctx.stdin ?? Bun.stdin.stream()).text();
  return text.replace(/\r?\n$/, "");
}

function flagText(values: Record<string, unknown>): (name: string) => string | undefined {
  return (name) => {
    const value = values[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) throw new UsageError(`--${name} needs a value`);
    return value as string | undefined;
  };
}

function credentialsFlag(values: Record<string, unknown>, name: string): Credentials | undefined {
  const text = flagText(values)(name);
  try {
    return text === undefined ? undefined : parseCredentials(text);
  } catch (error) {
    if (error instanceof CredentialsError) throw new UsageError(`--${name}: ${error.message}`);
    throw error;
  }
}
