/**
 * The images of a bundle as one source for the copy engine, though they
 * come from several registries: repositories are full names
 * (`docker.io/library/nginx`, `quay.io/prometheus/node-exporter`), and each
 * request goes to the registry its name's domain says, one client per
 * registry for the whole run.
 */
import type { Digest } from "../digest/index.ts";
import {
  type BlobContent,
  type Closable,
  type Descriptor,
  type ImageReader,
  type ListOptions,
  type ManifestContent,
  OciError,
  type ReferrersLister,
} from "../oci/index.ts";
import { type OpenOptions, openRegistry, type RegistryHome, type SourceEndpoint, type SourceImage } from "../transports/index.ts";
import type { ImageRequest } from "./image-list.ts";

export type RegistryOptions = NonNullable<OpenOptions["registry"]>;

export class RegistrySources implements ImageReader, ReferrersLister, Closable {
  readonly description: string;
  readonly #homes = new Map<string, RegistryHome>();

  constructor(
    domains: Iterable<string>,
    readonly options: RegistryOptions = {},
  ) {
    const all = [...new Set(domains)].sort();
    this.description = all.length === 1 ? `docker://${all[0]}` : `the registries ${all.map((d) => `docker://${d}`).join(", ")}`;
  }

  /** The registry of a full repository name, and the path on it. */
  #route(repository: string): [RegistryHome, string] {
    const slash = repository.indexOf("/");
    if (slash <= 0) throw new OciError("NAME_INVALID", `${JSON.stringify(repository)} is not a full repository name`);
    const domain = repository.slice(0, slash);
    let home = this.#homes.get(domain);
    if (!home) this.#homes.set(domain, (home = openRegistry(domain, this.options)));
    return [home, repository.slice(slash + 1)];
  }

  resolve(repository: string, reference: string): Promise<Descriptor> {
    const [home, path] = this.#route(repository);
    return home.resolve(path, reference);
  }

  manifest(repository: string, reference: string): Promise<ManifestContent> {
    const [home, path] = this.#route(repository);
    return home.manifest(path, reference);
  }

  blob(repository: string, digest: Digest): Promise<BlobContent> {
    const [home, path] = this.#route(repository);
    return home.blob(path, digest);
  }

  statBlob(repository: string, digest: Digest): Promise<number | undefined> {
    const [home, path] = this.#route(repository);
    return home.statBlob(path, digest);
  }

  hasManifest(repository: string, digest: Digest): Promise<boolean> {
    const [home, path] = this.#route(repository);
    return home.hasManifest(path, digest);
  }

  referrers(repository: string, subject: Digest, artifactType?: string): Promise<Descriptor[]> {
    const [home, path] = this.#route(repository);
    return home.referrers(path, subject, artifactType);
  }

  async repositories(_options?: ListOptions): Promise<string[]> {
    throw new OciError("UNSUPPORTED", "listing the repositories of several registries is not supported");
  }

  tags(repository: string, options?: ListOptions): Promise<string[]> {
    const [home, path] = this.#route(repository);
    return home.tags(path, options);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#homes.values()].map((h) => h.close()));
    this.#homes.clear();
  }
}

/** The source the copy engine reads a bundle's images from: their registries. */
export function registrySource(images: ImageRequest[], options: RegistryOptions = {}): SourceEndpoint {
  return imageSource(images, new RegistrySources(images.map((i) => i.name.domain), options));
}

/** The images, read from a home whose repositories are full names (`docker.io/library/nginx`). */
export function imageSource(images: ImageRequest[], home: ImageReader): SourceEndpoint {
  const list = images.map(
    (i): SourceImage => ({
      repository: i.name.name,
      reference: (i.name.digest ?? i.name.tag) as string,
      name: i.name,
      ...(i.platforms ? { platforms: i.platforms } : {}),
    }),
  );
  return { home, list: async () => list };
}

/** The text the engine names an image by in its events (the source name, digest included). */
export function eventNameOf(image: ImageRequest): string {
  return image.name.toString();
}


