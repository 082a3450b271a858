/**
 * Credentials in the files docker and podman keep: docker's config.json
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) and the
 * containers auth.json (`$REGISTRY_AUTH_FILE`, else
 * `$XDG_RUNTIME_DIR/containers/auth.json`). Same shape: `auths` with a
 * base64 `user:password` in `auth` (or an `identitytoken`), and
 * `credHelpers` / `credsStore` naming `docker-credential-*` programs.
 * Writing keeps every key we do not own.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { systemErrorReason } from "../oci/index.ts";
import { writeFileAtomic } from "./atomic-write.ts";
import { helperErase, helperGet, helperStore } from "./credential-helper.ts";
import { type Credentials, CredentialsError } from "./credentials.ts";
import { authKeyFor, authKeysFor, type RegistryEndpoint, registryOfAuthKey } from "./endpoint.ts";

type Env = Record<string, string | undefined>;

const authEntry = z.looseObject({
  auth: z.string().optional(),
  identitytoken: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
});
const authFileSchema = z.looseObject({
  auths: z.record(z.string(), authEntry).optional(),
  credHelpers: z.record(z.string(), z.string()).optional(),
  credsStore: z.string().optional(),
});
type AuthFile = z.infer<typeof authFileSchema>;

/** The docker config.json that `login` writes. */
export function dockerConfigPath(env: Env = process.env): string {
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, "config.json");
  return join(env.HOME || homedir(), ".docker", "config.json");
}

/**
 * The files to read credentials from, first match wins. An explicit file
 * replaces the search, as skopeo's `--authfile` does.
 */
export function authFilesToRead(env: Env = process.env, explicit?: string): string[] {
  if (explicit) return [explicit];
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  files.push(dockerConfigPath(env));
  return files;
}

function readAuthFile(path: string): AuthFile | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    const text = readFileSync(path, "utf8");
    json = text.trim() === "" ? {} : JSON.parse(text);
  } catch (error) {
    throw new CredentialsError(`Cannot read credentials file ${JSON.stringify(path)}: ${systemErrorReason(error)}`);
  }
  const parsed = authFileSchema.safeParse(json);
  if (!parsed.success) throw new CredentialsError(`Credentials file ${path} is not a docker config or containers auth file`);
  return parsed.data;
}

/** The entry of `record` whose key names this registry (keys may be URLs). */
function entryFor<T>(record: Record<string, T> | undefined, endpoint: RegistryEndpoint): [string, T] | undefined {
  if (!record) return undefined;
  for (const key of authKeysFor(endpoint)) if (record[key] !== undefined) return [key, record[key]];
  for (const [key, value] of Object.entries(record)) if (registryOfAuthKey(key) === endpoint.registry) return [key, value];
  return undefined;
}

function decodeEntry(path: string, entry: z.infer<typeof authEntry>): Credentials | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new CredentialsError(`Credentials file ${path}: an "auth" entry is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** Credentials for a registry from the auth files, or undefined. */
export async function lookupCredentials(
  endpoint: RegistryEndpoint,
  options: { env?: Env; authFile?: string } = {},
): Promise<Credentials | undefined> {
  const env = options.env ?? process.env;
  // A file named on purpose that is not there is a mistake, not "no credentials" (as skopeo and podman say).
  if (options.authFile && !existsSync(options.authFile)) throw new CredentialsError(`Credentials file ${options.authFile} does not exist`);
  for (const path of authFilesToRead(env, options.authFile)) {
    const file = readAuthFile(path);
    if (!file) continue;
    const helper = entryFor(file.credHelpers, endpoint);
    if (helper) return helperGet(helper[1], helper[0], { env });
    const entry = entryFor(file.auths, endpoint);
    if (file.credsStore && (entry || !file.auths)) {
      const found = await helperGet(file.credsStore, entry?.[0] ?? authKeyFor(endpoint), { env });
      if (found) return found;
    }
    if (entry) {
      const credentials = decodeEntry(path, entry[1]);
      if (credentials) return credentials;
    }
  }
  return undefined;
}

/** Store credentials as docker does: in a helper when one is configured, else base64 in `auths`. */
export async function storeCredentials(
  path: string,
  endpoint: RegistryEndpoint,
  credentials: { username: string; password: string },
  options: { env?: Env } = {},
): Promise<void> {
  const { raw, file } = readForUpdate(path);
  const key = authKeyFor(endpoint);
  const auths = { ...(raw.auths as Record<string, unknown> | undefined) };
  for (const other of Object.keys(auths)) if (other !== key && registryOfAuthKey(other) === endpoint.registry) delete auths[other];
  const helper = entryFor(file.credHelpers, endpoint)?.[1] ?? file.credsStore;
  if (helper) {
    await helperStore(helper, key, credentials, { env: options.env });
    auths[key] = {};
  } else {
    const previous = (raw.auths as Record<string, Record<string, unknown>> | undefined)?.[key] ?? {};
    auths[key] = { ...previous, auth: Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64") };
    delete (auths[key] as Record<string, unknown>).identitytoken;
  }
  writeFileAtomic(path, `${JSON.stringify({ ...raw, auths }, null, "\t")}\n`, 0o600);
}

/** Remove a registry's credentials; false when there were none. */
export async function removeCredentials(path: string, endpoint: RegistryEndpoint, options: { env?: Env } = {}): Promise<boolean> {
  if (!existsSync(path)) return false;
  const { raw, file } = readForUpdate(path);
  const auths = { ...(raw.auths as Record<string, unknown> | undefined) };
  const keys = Object.keys(auths).filter((k) => registryOfAuthKey(k) === endpoint.registry);
  const helper = entryFor(file.credHelpers, endpoint)?.[1] ?? file.credsStore;
  if (keys.length === 0 && !helper) return false;
  if (helper) await helperErase(helper, keys[0] ?? authKeyFor(endpoint), { env: options.env });
  if (keys.length === 0) return Boolean(helper);
  for (const key of keys) delete auths[key];
  writeFileAtomic(path, `${JSON.stringify({ ...raw, auths }, null, "\t")}\n`, 0o600);
  return true;
}

function readForUpdate(path: string): { raw: Record<string, unknown>; file: AuthFile } {
  const file = readAuthFile(path) ?? {};
  // Keep the untouched JSON, not the parsed form, so unknown keys survive as written.
  const raw = existsSync(path) ? (JSON.parse(readFileSync(path, "utf8").trim() || "{}") as Record<string, unknown>) : {};
  return { raw, file };
}
