/**
 * Endpoints over in-memory homes for the engine tests, and a wrapper home
 * that records the order of writes, slows uploads down on demand and
 * measures how many run at once.
 */
import type { Digest } from "../../../src/digest/index.ts";
import type { BlobContent, BlobInput, Descriptor, ImageHome } from "../../../src/oci/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import type { SyncEvent } from "../../../src/sync/index.ts";
import type { DestinationEndpoint, SourceEndpoint, SourceImage } from "../../../src/transports/endpoint.ts";
import { allBlobs, type GeneratedManifest } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";

/** Store generated images in a home under their names (`docker.io/acme/app:1` → repository `acme/app`, tag `1`). */
export async function load(home: MemoryHome, items: GeneratedManifest[], repository?: string): Promise<void> {
  const strict = home.strict;
  home.strict = false;
  for (const item of items) {
    const repo = repository ?? parseNormalizedReference(item.name!).path;
    const tag = item.name ? parseNormalizedReference(item.name).tag : undefined;
    for (const b of allBlobs([item])) await home.putBlob(repo, b.descriptor, new Blob([b.bytes]));
    const put = async (m: GeneratedManifest, reference?: string) => {
      for (const c of m.children) await put(c);
      await home.putManifest(repo, reference ?? m.descriptor.digest, { bytes: m.bytes, mediaType: m.descriptor.mediaType });
    };
    await put(item, tag);
  }
  home.strict = strict;
  for (const k of Object.keys(home.calls)) delete home.calls[k];
  if (home instanceof TracingHome) home.writes.length = 0;
}

/** A source naming these images of a home. */
export function source(home: ImageHome, names: string[]): SourceEndpoint {
  return {
    home,
    list: async () =>
      names.map((n): SourceImage => {
        const name = parseNormalizedReference(n);
        return { repository: name.path, reference: name.digest ?? name.tag ?? "latest", name };
      }),
  };
}

/** A destination keeping each image's path and tag, optionally under a prefix. */
export function destination(home: ImageHome, prefix = ""): DestinationEndpoint {
  return {
    home,
    target: (image) => ({ repository: prefix + image.name.path, ...(image.name.tag ? { tag: image.name.tag } : {}) }),
  };
}

export function names(items: GeneratedManifest[]): string[] {
  return items.filter((i) => i.name).map((i) => i.name!);
}

/** Collects events; `of(type)` filters them. */
export class Events {
  readonly all: SyncEvent[] = [];
  readonly listener = (e: SyncEvent) => void this.all.push(e);
  of<T extends SyncEvent["type"]>(type: T): Extract<SyncEvent, { type: T }>[] {
    return this.all.filter((e): e is Extract<SyncEvent, { type: T }> => e.type === type);
  }
}

export interface Write {
  op: "blob" | "manifest" | "mount";
  repository: string;
  reference: string;
}

/**
 * A MemoryHome whose writes are logged in order, whose uploads can be held
 * (`gate`) or slowed, and whose blob reads can be stream-only.
 */
export class TracingHome extends MemoryHome {
  readonly writes: Write[] = [];
  /** Uploads running now, and the most seen at once. */
  uploading = 0;
  maxUploading = 0;
  /** Milliseconds each upload takes at least. */
  delay = 0;
  /** When set, each upload waits for it before finishing. */
  gate?: Promise<void>;
  /** Offer only streams from blob(), never a file body. */
  streamOnly = false;
  /** Called when an upload starts. */
  onUpload?: (digest: Digest) => void;

  override async blob(repository: string, digest: Digest): Promise<BlobContent> {
    const content = await super.blob(repository, digest);
    if (!this.streamOnly) return content;
    return { digest: content.digest, size: content.size, stream: content.stream };
  }

  override async putBlob(repository: string, blob: BlobInput, body: ReadableStream<Uint8Array> | Blob): Promise<void> {
    this.uploading++;
    this.maxUploading = Math.max(this.maxUploading, this.uploading);
    this.onUpload?.(blob.digest);
    try {
      if (this.delay) await Bun.sleep(this.delay);
      if (this.gate) await this.gate;
      await super.putBlob(repository, blob, body);
      this.writes.push({ op: "blob", repository, reference: blob.digest });
    } finally {
      this.uploading--;
    }
  }

  override async mountBlob(repository: string, from: string | undefined, digest: Digest): Promise<boolean> {
    const mounted = await super.mountBlob(repository, from, digest);
    if (mounted) this.writes.push({ op: "mount", repository, reference: digest });
    return mounted;
  }

  override async putManifest(repository: string, reference: string, content: { bytes: Uint8Array; mediaType: string }) {
    const digest = await super.putManifest(repository, reference, content);
    this.writes.push({ op: "manifest", repository, reference });
    return digest;
  }
}

/** The descriptors of everything a manifest names (blobs and children). */
export function referencedBy(m: GeneratedManifest): Descriptor[] {
  return [...m.blobs.map((b) => b.descriptor), ...m.children.map((c) => c.descriptor)];
}
