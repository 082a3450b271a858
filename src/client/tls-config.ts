/**
 * TLS material for a registry: files named by the user, plus the per-host
 * directories docker and podman read (`certs.d/HOST:PORT/`): every `*.crt`
 * is a CA added to the system roots, each `NAME.cert` is a client
 * certificate whose key is `NAME.key`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { systemErrorReason } from "../oci/index.ts";
import type { RegistryEndpoint } from "./endpoint.ts";

export const DEFAULT_CERT_DIRS: readonly string[] = ["/etc/containers/certs.d", "/etc/docker/certs.d"];

export interface TlsFileOptions {
  /** CA certificate file(s) (PEM) trusted in addition to the system roots. */
  caCert?: string | string[];
  /** Client certificate (PEM) and its key, for registries that ask for one. */
  clientCert?: string;
  clientKey?: string;
  /** Base directories holding `HOST:PORT/` folders; default DEFAULT_CERT_DIRS. */
  certDirs?: readonly string[];
  /** Skip certificate verification. */
  insecure?: boolean;
}

export interface TlsSettings {
  ca?: string[];
  cert?: string;
  key?: string;
  rejectUnauthorized: boolean;
  /** True when a CA or a client certificate was found: the registry speaks TLS. */
  hasMaterial: boolean;
}

export class TlsConfigError extends Error {
  override readonly name = "TlsConfigError";
}

function readPem(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new TlsConfigError(`Cannot read ${what} ${JSON.stringify(path)}: ${systemErrorReason(error)}`);
  }
}

export function loadTlsSettings(endpoint: RegistryEndpoint, options: TlsFileOptions = {}): TlsSettings {
  const cas: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const path of [options.caCert ?? []].flat()) cas.push(readPem(path, "CA certificate"));
  if (options.clientCert || options.clientKey) {
    if (!options.clientCert || !options.clientKey) {
      throw new TlsConfigError("A client certificate needs both the certificate and the key file");
    }
    cert = readPem(options.clientCert, "client certificate");
    key = readPem(options.clientKey, "client key");
  }
  for (const base of options.certDirs ?? DEFAULT_CERT_DIRS) {
    const dir = join(base, endpoint.registry);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const names = readdirSync(dir).sort();
    for (const name of names) {
      if (name.endsWith(".crt")) cas.push(readPem(join(dir, name), "CA certificate"));
      if (name.endsWith(".cert") && !cert) {
        const keyName = `${name.slice(0, -".cert".length)}.key`;
        if (!names.includes(keyName)) throw new TlsConfigError(`Client certificate ${join(dir, name)} has no key ${keyName} beside it`);
        cert = readPem(join(dir, name), "client certificate");
        key = readPem(join(dir, keyName), "client key");
      }
    }
  }
  return {
    // node:tls only when a CA is added: importing it builds the bundled root certificates at every start.
    ...(cas.length ? { ca: [...process.getBuiltinModule("node:tls").rootCertificates, ...cas] } : {}),
    ...(cert ? { cert, key } : {}),
    rejectUnauthorized: !options.insecure,
    hasMaterial: cas.length > 0 || cert !== undefined,
  };
}
