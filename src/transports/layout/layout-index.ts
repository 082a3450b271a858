/**
 * index.json of an OCI image layout, validated, with its entries named
 * (see ref-name.ts) and grouped by repository and tag.
 */
import { z } from "zod";
import { type Descriptor, describeZodError, imageIndexSchema, MediaType } from "../../oci/index.ts";
import { TransportError } from "../errors.ts";
import { type EntryName, entryName } from "./ref-name.ts";

/** index.json is small in practice; this bounds what a hostile one costs. */
export const INDEX_SIZE_MAX = 64 * 1024 * 1024;

export const ociLayoutSchema = z.object({ imageLayoutVersion: z.string() });

export type IndexDocument = z.infer<typeof imageIndexSchema>;

export interface LayoutEntry {
  descriptor: Descriptor;
  name?: EntryName;
}

export class LayoutIndex {
  readonly entries: LayoutEntry[];
  /** repository → tag → descriptor; a later entry for the same name wins. */
  readonly tags = new Map<string, Map<string, Descriptor>>();
  /** Repositories named by entries with a digest only. */
  readonly #digestOnly = new Set<string>();

  constructor(
    readonly document: IndexDocument,
    readonly tagRepository: string,
    /** The JSON as read, unknown fields included, so a rewrite keeps them. */
    readonly raw: { manifests: unknown[] } & Record<string, unknown> = { ...document },
  ) {
    this.entries = document.manifests.map((descriptor) => {
      const name = entryName(descriptor.annotations, tagRepository);
      return name ? { descriptor, name } : { descriptor };
    });
    for (const { descriptor, name } of this.entries) {
      if (!name) continue;
      if (name.tag === undefined) {
        this.#digestOnly.add(name.repository);
        continue;
      }
      let tags = this.tags.get(name.repository);
      if (!tags) this.tags.set(name.repository, (tags = new Map()));
      tags.set(name.tag, descriptor);
    }
  }

  static empty(tagRepository: string): LayoutIndex {
    return new LayoutIndex({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] }, tagRepository);
  }

  /** Parse index.json bytes; `where` names the layout in messages. */
  static parse(bytes: Uint8Array, tagRepository: string, where: string): LayoutIndex {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw new TransportError("invalid-content", `${where}: index.json is not valid JSON: ${(error as Error).message}`);
    }
    const result = imageIndexSchema.safeParse(json);
    if (!result.success) {
      throw new TransportError("invalid-content", `${where}: index.json is not an OCI image index: ${describeZodError(result.error)}`);
    }
    return new LayoutIndex(result.data, tagRepository, json as { manifests: unknown[] });
  }

  hasRepository(repository: string): boolean {
    return this.tags.has(repository) || this.#digestOnly.has(repository);
  }

  repositories(): string[] {
    return [...new Set([...this.tags.keys(), ...this.#digestOnly])];
  }
}
