/**
 * `docker://` strings: `docker://HOST[:PORT][/PATH][:TAG|@DIGEST]`.
 *
 *   docker://localhost:5000                → the registry
 *   docker://site:5000/                    → the registry (a trailing slash says so)
 *   docker://site:5000/mirror/             → the registry with a path prefix
 *   docker://site:5000/acme/app:1.0        → an image
 *   docker://busybox                       → docker.io/library/busybox, as skopeo reads it
 *
 * Without a slash the text is a registry only when it looks like a host
 * (a dot, `localhost`, or an IPv6 literal); otherwise it is an image name,
 * as docker reads `busybox:1`.
 */
import type { Digest } from "../../digest/index.ts";
import { parseNormalizedReference, type Reference, ReferenceError } from "../../reference/index.ts";
import { registryEndpoint, RegistryNameError } from "../../client/index.ts";

export const DOCKER_PREFIX = "docker://";

export interface DockerLocation {
  /** `host[:port]` (`docker.io` for Docker Hub). */
  registry: string;
  /**
   * The repository path, when one was given. For a registry with a path
   * prefix (`docker://site/mirror/`) this is the prefix and `image` is absent.
   */
  path?: string;
  tag?: string;
  digest?: Digest;
  /** Set when the string names an image (it had a repository path and no trailing slash). */
  image?: Reference;
}

export class DockerLocationError extends Error {
  override readonly name = "DockerLocationError";
}

export function isDockerLocation(text: string): boolean {
  return text.startsWith(DOCKER_PREFIX);
}

export function parseDockerLocation(text: string): DockerLocation {
  const rest = text.startsWith(DOCKER_PREFIX) ? text.slice(DOCKER_PREFIX.length) : text;
  if (!rest) throw new DockerLocationError(`Invalid location ${JSON.stringify(text)}: nothing after docker://`);
  try {
    const slash = rest.indexOf("/");
    if (slash < 0 && looksLikeHost(rest)) return { registry: registryEndpoint(rest).registry };
    if (rest.endsWith("/")) {
      const registry = registryEndpoint(rest.slice(0, slash)).registry;
      const path = rest.slice(slash + 1).replace(/\/+$/, "");
      if (path && !/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(path)) {
        throw new DockerLocationError(`Invalid location ${JSON.stringify(text)}: ${JSON.stringify(path)} is not a repository path`);
      }
      return path ? { registry, path } : { registry };
    }
    const image = parseNormalizedReference(rest);
    return {
      registry: registryEndpoint(image.domain).registry,
      path: image.path,
      ...(image.tag ? { tag: image.tag } : {}),
      ...(image.digest ? { digest: image.digest } : {}),
      image,
    };
  } catch (error) {
    if (error instanceof ReferenceError) throw new DockerLocationError(`Invalid location ${JSON.stringify(text)}: ${error.describe()}`);
    if (error instanceof RegistryNameError) throw new DockerLocationError(`Invalid location ${JSON.stringify(text)}: ${error.message}`);
    throw error;
  }
}

function looksLikeHost(text: string): boolean {
  if (text.startsWith("[")) return true;
  const host = text.replace(/:\d+$/, "");
  return /^[A-Za-z0-9.-]+$/.test(host) && (host.includes(".") || host === "localhost");
}
