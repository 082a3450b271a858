/**
 * From a transport string to the endpoint the copy engine reads from or
 * writes to: the home, the images a source names, and where each lands in
 * a destination (naming.ts).
 *
 *   const source = await openSource("oci-archive:/media/app-7.1.tar", {});
 *   const dest = await openDestination("site:5000", { prefix: "mirror", registry: clientOptions });
 *
 * Homes that hold files or connections are Closable (`isClosable`); an
 * oci-archive destination writes its file on close.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { RegistryClientOptions } from "../client/index.ts";
import type { Digest } from "../digest/index.ts";
import { type ImageHome, type ImageReader, isClosable, OciError, parseManifest } from "../oci/index.ts";
import { parseNormalizedReference, Reference } from "../reference/index.ts";
import { databasePath, Store } from "../store/index.ts";
import { DockerArchiveHome, type DockerArchiveImage } from "./docker-archive/docker-archive-home.ts";
import type { DestinationEndpoint, SourceEndpoint, SourceImage } from "./endpoint.ts";
import { quote, TransportError } from "./errors.ts";
import type { LayoutReader } from "./layout/layout-reader.ts";
import { OciLayoutHome } from "./layout/oci-layout-home.ts";
import { normalisedName, splitRefName } from "./layout/ref-name.ts";
import { listAll } from "./list-page.ts";
import { type DestinationNaming, destinationTarget, joinPath } from "./naming.ts";
import { checkPathPrefix } from "./path-prefix.ts";
import { checkTagPrefix } from "./scan-naming.ts";
import { OciArchiveReader } from "./oci-archive/oci-archive-reader.ts";
import { OciArchiveWriter } from "./oci-archive/oci-archive-writer.ts";
import { RegistryDirHome } from "./registry-dir/registry-dir-home.ts";
import { openRegistry, type RegistryHomeOptions } from "./remote/registry-home.ts";
import { TarError } from "./tar/tar-error.ts";
import { TarIndex } from "./tar/tar-index.ts";
import { parseTransport, type RepositorySelection, type TransportSpec } from "./transport-spec.ts";

export interface OpenOptions {
  /** `--prefix`: a path in front of each repository at a registry or store destination. */
  prefix?: string;
  /** The repository of layout entries named by a bare tag (default: from the file name). */
  repository?: string;
  /** Registry client options (credentials, TLS, insecure, env, signal). */
  registry?: RegistryClientOptions & RegistryHomeOptions;
  /** `--scan`: every image into the one repository the destination names, tagged after its origin. */
  scan?: { tagPrefix?: string };
}

export interface OpenedSource extends SourceEndpoint {
  spec: TransportSpec;
}

export interface OpenedDestination extends DestinationEndpoint {
  spec: TransportSpec;
  /** How images are named here; `image` means the destination takes one image. */
  naming: DestinationNaming;
}

/** Open a transport string as a source. */
export async function openSource(text: string, options: OpenOptions = {}): Promise<OpenedSource> {
  const spec = await detect(parseTransport(text), "source");
  switch (spec.transport) {
    case "docker": {
      const { location } = spec;
      const home = openRegistry(location.registry, options.registry);
      const selection = location.image
        ? { repository: location.image.path, ...(location.tag ? { tag: location.tag } : {}), ...(location.digest ? { digest: location.digest } : {}) }
        : { prefix: location.path };
      const description = location.image ? `docker://${location.image}` : `docker://${joinPath(location.registry, location.path)}`;
      return { spec, home, description, list: () => registryImages(home, location.registry, selection) };
    }
    case "oci": {
      // A source is read for one run: its index as it was at the start is what the run copies.
      const home = await OciLayoutHome.open(spec.path, { tagRepository: options.repository, snapshot: true });
      return { spec, home, description: spec.text, list: () => layoutImages(home, spec.ref) };
    }
    case "oci-archive": {
      const home = await OciArchiveReader.open(spec.path, { tagRepository: options.repository });
      return { spec, home, description: spec.text, list: () => layoutImages(home, spec.ref) };
    }
    case "docker-archive": {
      const home = await DockerArchiveHome.open(spec.path, { tagRepository: options.repository });
      return { spec, home, description: spec.text, list: () => dockerArchiveImages(home, spec) };
    }
    case "registry-dir": {
      const home = await RegistryDirHome.open(spec.path);
      return { spec, home, description: spec.text, list: () => registryImages(home, "", spec.selection ?? {}) };
    }
    case "store": {
      if (!(await exists(databasePath(spec.path)))) {
        throw new TransportError("not-found", `store:${spec.path}: no store there (no ${quote("metadata.db")})`);
      }
      const home = await Store.open({ root: spec.path });
      return { spec, home, description: spec.text, list: () => registryImages(home, "", spec.selection ?? {}) };
    }
  }
}

/** Open a transport string as a destination. */
export async function openDestination(text: string, options: OpenOptions = {}): Promise<OpenedDestination> {
  // Before anything is opened (a new layout or store would be created).
  if (options.prefix !== undefined) options = { ...options, prefix: checkPathPrefix(options.prefix) };
  const spec = await detect(parseTransport(text), "destination");
  const opened = await openDestinationHome(spec, options);
  if (options.prefix !== undefined && opened.naming.kind !== "registry") {
    if (isClosable(opened.home)) await opened.home.close().catch(() => {});
    throw new TransportError("invalid-spec", `--prefix applies to a registry or store destination, not to ${quote(text)}`);
  }
  if (options.scan) {
    const fail = async (message: string) => {
      if (isClosable(opened.home)) await opened.home.close().catch(() => {});
      throw new TransportError("invalid-spec", message);
    };
    if (opened.naming.kind !== "registry" || !opened.naming.prefix) {
      await fail(`--scan needs DEST to name the scan repository, as in docker://HOST/REPO or store:DIR:REPO, not ${quote(text)}`);
    }
    if (options.prefix !== undefined) await fail("--prefix does not apply with --scan: DEST names the one repository");
    try {
      if (options.scan.tagPrefix !== undefined) checkTagPrefix(options.scan.tagPrefix);
    } catch (error) {
      await fail((error as Error).message);
    }
    const repository = (opened.naming as { prefix: string }).prefix;
    const scan: DestinationNaming = { kind: "scan", repository, ...(options.scan.tagPrefix !== undefined ? { tagPrefix: options.scan.tagPrefix } : {}) };
    return { spec, home: opened.home, naming: scan, target: (image) => destinationTarget(image.name, scan) };
  }
  const naming: DestinationNaming =
    opened.naming.kind === "registry" ? { kind: "registry", ...prefixOf(opened.naming.prefix, options.prefix) } : opened.naming;
  return { spec, home: opened.home, naming, target: (image) => destinationTarget(image.name, naming) };
}

async function openDestinationHome(spec: Exclude<TransportSpec, { transport: "path" }>, options: OpenOptions): Promise<{ home: ImageHome; naming: DestinationNaming }> {
  switch (spec.transport) {
    case "docker": {
      const { location } = spec;
      const home = openRegistry(location.registry, options.registry);
      if (location.image && (location.tag || location.digest)) {
        return { home, naming: { kind: "image", repository: location.image.path, ...(location.tag ? { tag: location.tag } : {}) } };
      }
      // A path without a tag is where each image's own path goes below.
      return { home, naming: { kind: "registry", ...prefixOf(location.path) } };
    }
    case "oci": {
      const home = await OciLayoutHome.open(spec.path, { create: true, tagRepository: options.repository });
      return { home, naming: layoutNaming(spec.ref, home.tagRepository) };
    }
    case "oci-archive": {
      const home = await OciArchiveWriter.open(spec.path, { tagRepository: options.repository });
      return { home, naming: layoutNaming(spec.ref, home.tagRepository) };
    }
    case "store": {
      const home = await Store.open({ root: spec.path });
      const s = spec.selection;
      if (s?.tag || s?.digest) return { home, naming: { kind: "image", repository: s.repository, ...(s.tag ? { tag: s.tag } : {}) } };
      return { home, naming: { kind: "registry", ...prefixOf(s?.repository) } };
    }
    case "docker-archive":
    case "registry-dir":
      throw new TransportError("unsupported", `${spec.transport}: is read-only: ${quote(spec.text)} can only be a source`);
  }
}

function prefixOf(...parts: (string | undefined)[]): { prefix?: string } {
  const prefix = joinPath(...parts);
  return prefix ? { prefix } : {};
}

function layoutNaming(ref: string | undefined, tagRepository: string): DestinationNaming {
  if (ref === undefined) return { kind: "full-name" };
  const name = splitRefName(ref, tagRepository)!;
  return { kind: "image", repository: name.repository, ...(name.tag ? { tag: name.tag } : {}) };
}

/** A bare path: what is there decides (and for a new destination, its name). */
async function detect(spec: TransportSpec, role: "source" | "destination"): Promise<Exclude<TransportSpec, { transport: "path" }>> {
  if (spec.transport !== "path") return spec;
  const { path, text } = spec;
  let info;
  try {
    info = await stat(path);
  } catch {
    if (role === "source") throw new TransportError("not-found", `${quote(text)}: no such file or directory`);
    return /\.tar$/i.test(path) ? { transport: "oci-archive", text, path } : { transport: "oci", text, path };
  }
  if (info.isDirectory()) {
    if (await exists(join(path, "oci-layout"))) return { transport: "oci", text, path };
    if (await exists(databasePath(path))) return { transport: "store", text, path };
    if (role === "source" && ((await isDirectory(join(path, "docker", "registry", "v2"))) || (await isDirectory(join(path, "repositories"))))) {
      return { transport: "registry-dir", text, path };
    }
    throw new TransportError(
      "invalid-content",
      `${quote(text)}: not an OCI layout, a store${role === "source" ? " or a registry's storage" : ""}; name the transport (oci:, store:, ...)`,
    );
  }
  // A file that is no tar at all is "not an archive"; a tar that is
  // truncated or hostile says so itself.
  const tar = await TarIndex.open(path).catch((error) => {
    if (error instanceof TarError && !/: not a tar archive$/.test(error.message)) throw error;
    return undefined;
  });
  if (tar?.resolve("oci-layout")) return { transport: "oci-archive", text, path };
  if (tar?.resolve("manifest.json") && role === "source") return { transport: "docker-archive", text, path };
  throw new TransportError("invalid-content", `${quote(text)}: not an OCI archive${role === "source" ? " or a docker save archive" : ""}`);
}

/** The images of an OCI layout (directory or archive), or the one named REF. */
async function layoutImages(home: LayoutReader, ref: string | undefined): Promise<SourceImage[]> {
  const tagRepository = home.tagRepository;
  const entries = await home.entries();
  const image = (repository: string, reference: { tag?: string; digest?: Digest }): SourceImage => {
    let name: Reference;
    try {
      name = normalisedName(repository, reference, tagRepository);
    } catch (error) {
      throw new TransportError("invalid-content", `${home.description}: the name ${quote(repository)} cannot be used as an image name: ${(error as Error).message}`);
    }
    return { repository, reference: reference.tag ?? reference.digest!, name };
  };
  if (ref !== undefined) {
    const wanted = splitRefName(ref, tagRepository)!;
    const wantedFull = fullName(wanted.repository, wanted.tag, tagRepository);
    const found = entries.find(
      (e) =>
        e.name?.tag !== undefined &&
        ((e.name.repository === wanted.repository && e.name.tag === wanted.tag) || fullName(e.name.repository, e.name.tag, tagRepository) === wantedFull),
    );
    if (!found) {
      const names = entries.filter((e) => e.name?.tag !== undefined).map((e) => `${e.name!.bare ? "" : `${e.name!.repository}:`}${e.name!.tag}`);
      const some = names.length ? `; it has ${names.slice(0, 10).join(", ")}${names.length > 10 ? ", …" : ""}` : "; it has no named images";
      throw new TransportError("not-found", `${home.description}: no image named ${quote(ref)}${some}`);
    }
    return [image(found.name!.repository, { tag: found.name!.tag })];
  }
  const out = new Map<string, SourceImage>();
  for (const e of entries) {
    if (!e.name) continue;
    const img = e.name.tag !== undefined ? image(e.name.repository, { tag: e.name.tag }) : image(e.name.repository, { digest: e.descriptor.digest });
    out.set(`${img.repository} ${img.reference}`, img);
  }
  if (out.size === 0) {
    // A layout without names (as `skopeo copy ... oci:DIR` writes): its
    // images by digest, leaving out artifacts, which travel as referrers.
    for (const e of entries) {
      const content = await home.manifest(tagRepository, e.descriptor.digest).catch(() => undefined);
      if (content && parseManifestSubject(content.bytes, content.mediaType)) continue;
      const img = image(tagRepository, { digest: e.descriptor.digest });
      out.set(`${img.repository} ${img.reference}`, img);
    }
  }
  return [...out.values()];
}

function fullName(repository: string, tag: string | undefined, tagRepository: string): string | undefined {
  try {
    return normalisedName(repository, tag ? { tag } : {}, tagRepository).toString();
  } catch {
    return undefined;
  }
}

function parseManifestSubject(bytes: Uint8Array, mediaType: string): boolean {
  try {
    const parsed = parseManifest(bytes, mediaType);
    return (parsed.kind === "index" ? parsed.index.subject : parsed.manifest.subject) !== undefined;
  } catch {
    return false;
  }
}

async function dockerArchiveImages(home: DockerArchiveHome, spec: Extract<TransportSpec, { transport: "docker-archive" }>): Promise<SourceImage[]> {
  const all = await home.list();
  const toImage = (i: DockerArchiveImage): SourceImage => ({
    repository: i.repository,
    reference: i.reference,
    name: i.tag !== undefined ? parseNormalizedReference(`${i.repository}:${i.tag}`) : new Reference("", i.repository, undefined, i.digest),
  });
  if (spec.index !== undefined) {
    const found = all.filter((i) => i.index === spec.index);
    if (found.length === 0) throw new TransportError("not-found", `${home.description}: no image @${spec.index}; it holds ${home.images.length}`);
    return found.map(toImage);
  }
  if (spec.name !== undefined) {
    const found = all.filter((i) => i.tag !== undefined && `${i.repository}:${i.tag}` === spec.name);
    if (found.length === 0) {
      const names = all.filter((i) => i.tag !== undefined).map((i) => `${i.repository}:${i.tag}`);
      throw new TransportError("not-found", `${home.description}: no image named ${quote(spec.name)}; it has ${names.slice(0, 10).join(", ") || "no named images"}`);
    }
    return found.map(toImage);
  }
  return all.map(toImage);
}

/** The images of a registry-like home: everything (under a prefix), one repository's tags, or one image. */
async function registryImages(home: ImageReader, domain: string, selection: { prefix?: string } | RepositorySelection): Promise<SourceImage[]> {
  const image = (repository: string, tag?: string, digest?: Digest): SourceImage => ({
    repository,
    reference: digest ?? tag!,
    name: new Reference(domain, repository, tag, digest),
  });
  if ("repository" in selection) {
    if (selection.tag || selection.digest) return [image(selection.repository, selection.tag, selection.digest)];
    return (await listAll((o) => home.tags(selection.repository, o))).map((tag) => image(selection.repository, tag));
  }
  // A prefix names a repository path: the repository itself and those under it, not siblings that merely start alike.
  const { prefix } = selection;
  const repositories = (await listAll((o) => home.repositories(o))).filter((r) => !prefix || r === prefix || r.startsWith(`${prefix}/`));
  const out: SourceImage[] = [];
  for (const repository of repositories) {
    try {
      for (const tag of await listAll((o) => home.tags(repository, o))) out.push(image(repository, tag));
    } catch (error) {
      // A repository listed in the catalog but deleted meanwhile.
      if (!OciError.is(error, "NAME_UNKNOWN")) throw error;
    }
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
