/** The entries of one layer, numbered, with cleaned paths and errors that name the layer. */
import { ContentMismatchError } from "../digest/index.ts";
import { type Descriptor, type ImageReader, OciError } from "../oci/index.ts";
import { cleanEntryPath } from "./entry-path.ts";
import { FlattenError } from "./errors.ts";
import { openLayer } from "./layer-stream.ts";
import type { TarHeader } from "./tar-format.ts";
import { readTar } from "./tar-reader.ts";

export interface LayerEntry {
  /** Position in the layer's tar, counting every entry (the same on every read). */
  ordinal: number;
  /** Cleaned path; "" for the root. */
  path: string;
  /** For hardlinks: the cleaned target path. */
  linkPath?: string;
  header: TarHeader;
  body: AsyncIterable<Uint8Array>;
}

export interface LayerRef {
  reader: ImageReader;
  repository: string;
  layer: Descriptor;
  /** 0-based, and the number of layers, for messages. */
  index: number;
  count: number;
  signal?: AbortSignal;
}

export function describeLayer(ref: Pick<LayerRef, "index" | "count" | "layer">): string {
  return `layer ${ref.index + 1} of ${ref.count} (${ref.layer.digest})`;
}

export async function* layerEntries(ref: LayerRef): AsyncGenerator<LayerEntry> {
  const where = describeLayer(ref);
  try {
    const stream = await openLayer(ref.reader, ref.repository, ref.layer);
    let ordinal = 0;
    for await (const { header, body } of readTar(stream)) {
      ref.signal?.throwIfAborted();
      const path = cleanEntryPath(header.name, where);
      const entry: LayerEntry = { ordinal: ordinal++, path, header, body };
      if (header.type === "link") entry.linkPath = cleanEntryPath(header.linkname, `${where}: hardlink ${JSON.stringify(header.name)}`);
      yield entry;
    }
  } catch (error) {
    if (error instanceof OciError || ref.signal?.aborted) throw error;
    if (error instanceof FlattenError) throw error.message.startsWith(where) ? error : new FlattenError(`${where}: ${error.message}`);
    if (error instanceof ContentMismatchError) throw new FlattenError(`${where}: ${error.describe()}`);
    throw new FlattenError(`${where}: ${(error as Error).message}`);
  }
}
