/**
 * Pass two of a flatten: read the layers from the bottom up and write
 * only the entries the plan kept, parents before children, hard links
 * pointed at names that exist in the output.
 */
import { ancestorsOf } from "./entry-path.ts";
import type { LayerEntry } from "./layer-entries.ts";
import { type FlattenPlan, position, survives } from "./plan.ts";
import type { TarHeader } from "./tar-format.ts";
import type { TarWriter } from "./tar-writer.ts";

export interface WriteOptions {
  plan: FlattenPlan;
  layerCount: number;
  entries(layer: number): AsyncIterable<LayerEntry>;
  writer: TarWriter;
  onLayer?(layer: number): void;
}

export interface WriteStats {
  entries: number;
  files: number;
  /** Bytes of file content written. */
  contentBytes: number;
}

/** A directory no surviving entry describes (its entry was deleted, or never in a layer). */
function impliedDirectory(path: string): TarHeader {
  return { name: path, type: "directory", mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0, linkname: "", uname: "", gname: "", devmajor: 0, devminor: 0, pax: [] };
}

export async function writeFlat({ plan, layerCount, entries, writer, onLayer }: WriteOptions): Promise<WriteStats> {
  const stats: WriteStats = { entries: 0, files: 0, contentBytes: 0 };
  const written = new Set<string>();
  const writeDir = async (path: string) => {
    if (written.has(path)) return;
    written.add(path);
    const header = plan.dirs.get(path) ?? impliedDirectory(path);
    await writer.add({ ...header, name: `${path}/`, linkname: "", size: 0 });
    stats.entries++;
  };
  const parents = async (path: string) => {
    for (const a of ancestorsOf(path)) await writeDir(a);
  };
  const write = async (header: TarHeader, name: string, body: AsyncIterable<Uint8Array> | undefined, linkname = header.linkname) => {
    await parents(name);
    await writer.add({ ...header, name, linkname }, body);
    stats.entries++;
    if (header.type === "file") {
      stats.files++;
      stats.contentBytes += header.size;
    }
  };

  for (let i = 0; i < layerCount; i++) {
    onLayer?.(i);
    for await (const entry of entries(i)) {
      const { path, header, body } = entry;
      if (path === "") continue;
      const at = position(i, entry.ordinal);
      const movedTo = plan.moved.get(at);
      if (movedTo !== undefined) {
        // Content that only surviving hard links still need, under the first link's name.
        await write(header, movedTo, body);
        continue;
      }
      const dir = header.type === "directory";
      if (!survives(plan, path, at, dir)) continue;
      if (dir) {
        await parents(path);
        await writeDir(path);
        continue;
      }
      if (header.type === "link") {
        const target = plan.links.get(at);
        if (target === "" || target === undefined) continue; // written with the content already
        await write({ ...header, size: 0 }, path, undefined, target);
        continue;
      }
      await write(header, path, header.type === "file" ? body : undefined, header.type === "symlink" ? header.linkname : "");
    }
  }
  return stats;
}
