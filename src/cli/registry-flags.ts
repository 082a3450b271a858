/**
 * The flags every command that talks to a registry shares, and the client
 * options they make. Commands spread REGISTRY_FLAGS into their own flags,
 * append REGISTRY_FLAGS_HELP to their help, and pass the parsed values to
 * registryOptions.
 */
import { CredentialsError, parseCredentials, type RegistryClientOptions } from "../client/index.ts";
import { UsageError } from "./command.ts";

export const REGISTRY_FLAGS = {
  creds: { type: "string" },
  authfile: { type: "string" },
  insecure: { type: "boolean" },
  "ca-cert": { type: "string" },
  cert: { type: "string" },
  key: { type: "string" },
  "certs-dir": { type: "string", multiple: true },
} as const;

export const REGISTRY_FLAGS_HELP = `Registry access:
  --creds USER:PASS   credentials (default: docker config.json, podman auth.json, credential helpers)
  --authfile FILE     read credentials from this file only
  --insecure          plain HTTP, or HTTPS without certificate verification
  --ca-cert FILE      trust this CA certificate (PEM) in addition to the system roots
  --cert FILE         client certificate (PEM), with --key FILE
  --key FILE          the client certificate's key
  --certs-dir DIR     where HOST:PORT/{*.crt,*.cert,*.key} are looked up
                      (default /etc/containers/certs.d and /etc/docker/certs.d; repeatable)
  Loopback registries (localhost, 127.0.0.0/8, ::1) may use plain HTTP without --insecure.`;

/** Client options from parsed registry flags (values as `parseFlags` returns them). */
export function registryOptions(
  values: Record<string, unknown>,
  ctx: { env: Record<string, string | undefined>; signal: AbortSignal },
): RegistryClientOptions {
  const text = (name: string) => {
    const value = values[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) throw new UsageError(`--${name} needs a value`);
    return value as string | undefined;
  };
  const creds = text("creds");
  let credentials;
  try {
    credentials = creds === undefined ? undefined : parseCredentials(creds);
  } catch (error) {
    if (error instanceof CredentialsError) throw new UsageError(`--creds: ${error.message}`);
    throw error;
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
