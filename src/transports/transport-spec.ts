/**
 * Transport strings, parsed without touching the disk or the network:
 *
 *   docker://HOST[:PORT]/REPO[:TAG|@DIGEST]   an image; REPO alone: its tags (source) or a path prefix (destination)
 *   docker://HOST[:PORT][/PREFIX/]            a registry (source: its catalog, under PREFIX)
 *   HOST:PORT[/PREFIX], localhost[/PREFIX]    the same, without the docker:// (a registry, never an image)
 *   oci:DIR[:REF]                             an OCI layout directory (REF: a ref.name)
 *   oci-archive:FILE[:REF]                    a tar of one
 *   docker-archive:FILE[:NAME|@INDEX]         a `docker save` tarball (source only)
 *   registry-dir:DIR[:REPO[:TAG|@DIGEST]]     a distribution registry's storage (source only)
 *   store:DIR[:REPO[:TAG|@DIGEST]]            stevedore's embedded store
 *   PATH                                      a layout, archive or store, told apart by its content
 *
 * As skopeo does, the first `:` after the transport ends the path, so a
 * path with a `:` in it needs `./` or an absolute form and no REF.
 */
import { type Digest, isDigest, parseDigest } from "../digest/index.ts";
import { parseNormalizedReference, patterns } from "../reference/index.ts";
import { quote, TransportError } from "./errors.ts";
import { splitRefName } from "./layout/ref-name.ts";
import { type DockerLocation, parseDockerLocation } from "./remote/docker-location.ts";

export type TransportName = "docker" | "oci" | "oci-archive" | "docker-archive" | "registry-dir" | "store";

export const TRANSPORTS: readonly TransportName[] = ["docker", "oci", "oci-archive", "docker-archive", "registry-dir", "store"];

/** Inside a registry-like home: everything, one repository, or one image. */
export interface RepositorySelection {
  repository: string;
  tag?: string;
  digest?: Digest;
}

export type TransportSpec =
  | { transport: "docker"; text: string; location: DockerLocation }
  | { transport: "oci" | "oci-archive"; text: string; path: string; ref?: string }
  | { transport: "docker-archive"; text: string; path: string; name?: string; index?: number }
  | { transport: "registry-dir" | "store"; text: string; path: string; selection?: RepositorySelection }
  /** No transport: decided by what is at the path. */
  | { transport: "path"; text: string; path: string };

export function parseTransport(text: string): TransportSpec {
  if (text.trim() === "") throw new TransportError("invalid-spec", "An image location is empty");
  if (text.startsWith("docker://")) return { transport: "docker", text, location: dockerLocation(text) };
  if (isPathLike(text)) return { transport: "path", text, path: text };
  if (isBareRegistry(text)) return bareRegistry(text);
  const colon = text.indexOf(":");
  if (colon < 0) return { transport: "path", text, path: text };
  const transport = text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (transport === "docker") throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: write docker://${rest.replace(/^\/*/, "")}`);
  if (!(TRANSPORTS as readonly string[]).includes(transport)) {
    throw new TransportError(
      "invalid-spec",
      `Unknown transport ${quote(transport)} in ${quote(text)}: use one of ${TRANSPORTS.map((t) => (t === "docker" ? "docker://" : `${t}:`)).join(", ")}, or HOST:PORT for a registry`,
    );
  }
  const [path, ref] = splitPath(rest);
  if (path === "") throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${transport}: needs a path, as in ${usage(transport as TransportName)}`);
  switch (transport as Exclude<TransportName, "docker">) {
    case "oci":
    case "oci-archive":
      if (ref !== undefined && splitRefName(ref, "x")?.tag === undefined) {
        throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(ref)} is not a tag or a name with a tag`);
      }
      return { transport: transport as "oci" | "oci-archive", text, path, ...(ref !== undefined ? { ref } : {}) };
    case "docker-archive":
      return { transport: "docker-archive", text, path, ...dockerArchiveRef(text, ref) };
    case "registry-dir":
    case "store":
      return { transport: transport as "registry-dir" | "store", text, path, ...(ref !== undefined ? { selection: repositorySelection(text, ref) } : {}) };
  }
}

export function usage(transport: TransportName): string {
  return {
    docker: "docker://HOST[:PORT]/REPO[:TAG]",
    oci: "oci:DIR[:REF]",
    "oci-archive": "oci-archive:FILE[:REF]",
    "docker-archive": "docker-archive:FILE[:NAME|@INDEX]",
    "registry-dir": "registry-dir:DIR[:REPO[:TAG]]",
    store: "store:DIR[:REPO[:TAG]]",
  }[transport];
}

function dockerLocation(text: string): DockerLocation {
  try {
    return parseDockerLocation(text);
  } catch (error) {
    throw new TransportError("invalid-spec", (error as Error).message);
  }
}

function isPathLike(text: string): boolean {
  return text.startsWith("/") || text.startsWith("./") || text.startsWith("../") || text.startsWith("~/") || text === "." || text === "..";
}

/** `host:port[/…]`, `[v6]:port[/…]` or `localhost[/…]`: what a bare registry looks like. */
function isBareRegistry(text: string): boolean {
  const first = text.split("/")[0]!;
  return /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d+$/.test(first) || first === "localhost";
}

function bareRegistry(text: string): TransportSpec {
  const slash = text.indexOf("/");
  const path = slash < 0 ? "" : text.slice(slash + 1);
  if (/[:@]/.test(path)) {
    throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: a bare HOST:PORT names a registry; for one image write docker://${text}`);
  }
  const registry = slash < 0 ? text : text.slice(0, slash);
  const trimmed = path.replace(/^\/+|\/+$/g, "");
  return { transport: "docker", text, location: dockerLocation(`docker://${registry}/${trimmed ? `${trimmed}/` : ""}`) };
}

/** `PATH[:REF]` at the first colon, as skopeo splits. */
function splitPath(rest: string): [string, string | undefined] {
  const colon = rest.indexOf(":");
  return colon < 0 ? [rest, undefined] : [rest.slice(0, colon), rest.slice(colon + 1)];
}

function dockerArchiveRef(text: string, ref: string | undefined): { name?: string; index?: number } {
  if (ref === undefined) return {};
  if (ref.startsWith("@")) {
    const index = Number(ref.slice(1));
    if (!/^\d+$/.test(ref.slice(1)) || !Number.isSafeInteger(index)) {
      throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(ref)} is not @INDEX (a number)`);
    }
    return { index };
  }
  try {
    return { name: parseNormalizedReference(ref).toString() };
  } catch (error) {
    throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(ref)} is not an image name: ${(error as Error).message}`);
  }
}

/** `REPO[:TAG|@DIGEST]`, a repository path as a registry stores it (no domain). */
function repositorySelection(text: string, ref: string): RepositorySelection {
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const value = rest.slice(at + 1);
    if (!isDigest(value)) throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(value)} is not a digest`);
    digest = parseDigest(value);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!patterns.ANCHORED_TAG.test(tag)) throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(tag)} is not a valid tag`);
  }
  if (!patterns.ANCHORED_REMOTE_NAME.test(rest)) {
    throw new TransportError("invalid-spec", `Invalid location ${quote(text)}: ${quote(rest)} is not a repository path (lowercase a-z0-9 parts separated by /)`);
  }
  return { repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}
