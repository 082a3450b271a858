/**
 * Where a registry name points: the host to connect to, the schemes to try,
 * and the key its credentials are stored under. `docker.io` is an alias:
 * its API lives at registry-1.docker.io and docker files its login under
 * the old index URL.
 */
import { isIP } from "node:net";

export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
/** The key docker writes Docker Hub credentials under in config.json. */
export const DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/";
const DOCKER_HUB_ALIASES = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

export type Scheme = "https" | "http";

export interface RegistryEndpoint {
  /** The registry as references name it: `host[:port]`, `docker.io` for Docker Hub. */
  readonly registry: string;
  /** `host[:port]` to connect to. */
  readonly apiHost: string;
  /** The host name without port or brackets. */
  readonly hostname: string;
  /** True for localhost, 127.0.0.0/8 and ::1: never proxied, plain HTTP allowed. */
  readonly loopback: boolean;
  /** A scheme the user wrote (`http://host`), which then is the only one tried. */
  readonly forcedScheme?: Scheme;
}

export class RegistryNameError extends Error {
  override readonly name = "RegistryNameError";
}

const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::[0-9]{1,5})?$/;

/**
 * Parse a registry as users type it: `host`, `host:port`, `[::1]:5000`,
 * optionally with `http://`, `https://` or `docker://` in front and a
 * trailing slash. Docker Hub aliases become `docker.io`.
 */
export function registryEndpoint(input: string): RegistryEndpoint {
  let text = input.trim();
  let forcedScheme: Scheme | undefined;
  const scheme = /^([a-z]+):\/\//i.exec(text);
  if (scheme) {
    const name = scheme[1]!.toLowerCase();
    if (name === "http" || name === "https") forcedScheme = name;
    else if (name !== "docker") throw new RegistryNameError(`Invalid registry ${JSON.stringify(input)}: unknown scheme ${name}://`);
    text = text.slice(scheme[0].length);
  }
  text = text.replace(/\/+$/, "");
  // docker config.json keys may carry a path (`https://index.docker.io/v1/`).
  if (forcedScheme && text.includes("/")) text = text.slice(0, text.indexOf("/"));
  if (!HOST_PORT.test(text)) {
    throw new RegistryNameError(`Invalid registry ${JSON.stringify(input)}: expected host[:port], e.g. localhost:5000`);
  }
  const port = /:([0-9]{1,5})$/.exec(text)?.[1];
  if (port !== undefined && Number(port) > 65535) {
    throw new RegistryNameError(`Invalid registry ${JSON.stringify(input)}: port ${port} is out of range`);
  }
  const hostPart = port === undefined ? text : text.slice(0, -(port.length + 1));
  const hostname = hostPart.replace(/^\[|\]$/g, "").toLowerCase();
  const hostLower = port === undefined ? hostPart.toLowerCase() : `${hostPart.toLowerCase()}:${port}`;
  if (DOCKER_HUB_ALIASES.has(hostLower)) {
    return { registry: "docker.io", apiHost: DOCKER_HUB_API_HOST, hostname: DOCKER_HUB_API_HOST, loopback: false, forcedScheme };
  }
  return { registry: hostLower, apiHost: hostLower, hostname, loopback: isLoopbackHost(hostname), forcedScheme };
}

/** localhost (and *.localhost), 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith("127.");
  if (family === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1" || /^::ffff:127\./.test(host);
  return false;
}

/**
 * The schemes to try, in order. A loopback registry without TLS material
 * is most likely plain HTTP, but may be TLS; `insecure` means "TLS without
 * verification, else plain HTTP"; everything else is HTTPS only.
 */
export function candidateSchemes(endpoint: RegistryEndpoint, options: { insecure?: boolean; hasTlsMaterial?: boolean }): Scheme[] {
  if (endpoint.forcedScheme) return [endpoint.forcedScheme];
  if (endpoint.loopback && !options.hasTlsMaterial) return ["http", "https"];
  if (endpoint.loopback || options.insecure) return ["https", "http"];
  return ["https"];
}

/** The keys a registry's credentials may be filed under in an auth file. */
export function authKeysFor(endpoint: RegistryEndpoint): string[] {
  if (endpoint.registry === "docker.io") {
    return [DOCKER_HUB_AUTH_KEY, "index.docker.io", "docker.io", "registry-1.docker.io", "https://index.docker.io/v1"];
  }
  return [endpoint.registry];
}

/** The key `login` writes: docker's choice, so docker finds it. */
export function authKeyFor(endpoint: RegistryEndpoint): string {
  return endpoint.registry === "docker.io" ? DOCKER_HUB_AUTH_KEY : endpoint.registry;
}

/** Normalise a key found in an auth file (`https://host:5000/v1/`, `host:5000`) to a registry name. */
export function registryOfAuthKey(key: string): string | undefined {
  try {
    const text = key.includes("://") ? key : `docker://${key}`;
    const withoutPath = text.replace(/^([a-z]+:\/\/[^/]+).*$/i, "$1");
    return registryEndpoint(withoutPath).registry;
  } catch {
    return undefined;
  }
}
