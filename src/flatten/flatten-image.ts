/**
 * Flatten an image into one filesystem tar, streaming: pass one reads the
 * layers top-down and keeps only path names (which entry survives); pass
 * two reads them bottom-up and writes the survivors. Memory grows with the
 * number of paths, never with layer sizes.
 */
import type { ImageReader, Platform } from "../oci/index.ts";
import { layerEntries } from "./layer-entries.ts";
import { planFlatten } from "./plan.ts";
import { type SelectedImage, selectImage } from "./select-image.ts";
import { TarWriter } from "./tar-writer.ts";
import { type WriteStats, writeFlat } from "./write-flat.ts";

export interface FlattenProgress {
  /** "plan": reading top-down to decide; "write": reading bottom-up to write. */
  phase: "plan" | "write";
  /** 0-based layer index, and the number of layers. */
  layer: number;
  layers: number;
}

export interface FlattenOptions {
  /** Which image of an index (default: this machine's platform). */
  platform?: Platform;
  /** Refuse a single image of another platform than `platform`. */
  strictPlatform?: boolean;
  signal?: AbortSignal;
  onProgress?(event: FlattenProgress): void;
}

export interface FlattenResult {
  image: SelectedImage;
  stats: WriteStats;
  /** Bytes of tar written. */
  bytes: number;
}

export async function flattenImage(
  reader: ImageReader,
  repository: string,
  reference: string,
  output: WritableStream<Uint8Array>,
  options: FlattenOptions = {},
): Promise<FlattenResult> {
  const writer = new TarWriter(output);
  try {
    const image = await selectImage(reader, repository, reference, options);
    const layers = image.layers.map((layer, index) => ({ layer, index, count: image.layers.length }));
    const entries = (i: number) => layerEntries({ reader, repository, ...layers[i]!, signal: options.signal });
    const progress = (phase: FlattenProgress["phase"]) => (layer: number) => options.onProgress?.({ phase, layer, layers: layers.length });
    const plan = await planFlatten({ entries, layers, onLayer: progress("plan") });
    const stats = await writeFlat({ plan, layerCount: layers.length, entries, writer, onLayer: progress("write") });
    await writer.finish();
    return { image, stats, bytes: writer.bytes };
  } catch (error) {
    await writer.abort(error);
    throw error;
  }
}
