/**
 * Layers built entry by entry (with tar-stream, independent of the code
 * under test), images over them, and a reader for flattened output.
 */
import { extract, pack } from "tar-stream";
import { digestOf } from "../../../src/digest/index.ts";
import { MediaType, type Platform } from "../../../src/oci/index.ts";
import { type GeneratedManifest, generateImage, type Layer } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";

export interface Spec {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  data?: string | Uint8Array;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  pax?: Record<string, string>;
}

export const file = (name: string, data = name, extra: Partial<Spec> = {}): Spec => ({ name, data, ...extra });
export const dir = (name: string, extra: Partial<Spec> = {}): Spec => ({ name, type: "directory", ...extra });
export const symlink = (name: string, linkname: string): Spec => ({ name, type: "symlink", linkname, mode: 0o777 });
export const hardlink = (name: string, linkname: string): Spec => ({ name, type: "link", linkname });
export const whiteout = (path: string): Spec => {
  const slash = path.lastIndexOf("/");
  return file(`${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`, "");
};
export const opaque = (dirPath: string): Spec => file(`${dirPath}/.wh..wh..opq`, "");

export async function tarOf(specs: Spec[]): Promise<Uint8Array<ArrayBuffer>> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const s of specs) {
    const type = s.type ?? "file";
    const data = typeof s.data === "string" ? Buffer.from(s.data) : Buffer.from(s.data ?? new Uint8Array());
    const header = {
      name: s.name,
      type,
      mode: s.mode ?? (type === "directory" ? 0o755 : 0o644),
      uid: s.uid ?? 0,
      gid: s.gid ?? 0,
      mtime: new Date((s.mtime ?? 1_700_000_000) * 1000),
      linkname: s.linkname,
      size: type === "file" ? data.byteLength : 0,
      ...(s.pax ? { pax: s.pax } : {}),
    };
    await new Promise<void>((resolve, reject) => p.entry(header, type === "file" ? data : Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  }
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

export async function layerOf(specs: Spec[] | Uint8Array<ArrayBuffer>, compression: "gzip" | "zstd" | "none" = "gzip"): Promise<Layer> {
  const tar = specs instanceof Uint8Array ? specs : await tarOf(specs);
  const bytes =
    compression === "gzip"
      ? new Uint8Array(Bun.gzipSync(tar, { level: 1 }))
      : compression === "zstd"
        ? new Uint8Array(Bun.zstdCompressSync(tar))
        : tar;
  const mediaType = compression === "gzip" ? MediaType.ociLayerGzip : compression === "zstd" ? MediaType.ociLayerZstd : MediaType.ociLayer;
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength }, bytes, diffId: digestOf(tar) };
}

export function imageOf(layers: Layer[], options: { name?: string; platform?: Platform } = {}): Promise<GeneratedManifest> {
  return generateImage({ name: options.name ?? "docker.io/test/img:1", baseLayers: layers, layers: 0, platform: options.platform });
}

/** A memory home holding the manifests (and their children) under `test/img`. */
export async function homeWith(...items: { manifest: GeneratedManifest; tag?: string }[]): Promise<MemoryHome> {
  const home = new MemoryHome();
  home.strict = false;
  const put = async (m: GeneratedManifest, tag?: string) => {
    for (const b of m.blobs) await home.putBlob("test/img", { digest: b.descriptor.digest, size: b.descriptor.size }, new Blob([b.bytes]).stream());
    for (const c of m.children) await put(c);
    await home.putManifest("test/img", tag ?? m.descriptor.digest, { bytes: m.bytes, mediaType: m.descriptor.mediaType });
  };
  for (const { manifest, tag } of items) await put(manifest, tag ?? "1");
  return home;
}

export interface OutEntry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  data?: string;
  pax?: Record<string, string>;
}

/** Read a tar with tar-stream into plain objects. */
export async function readEntries(tar: Uint8Array): Promise<OutEntry[]> {
  const x = extract();
  const out: OutEntry[] = [];
  const reading = (async () => {
    for await (const entry of x) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const h = entry.header as typeof entry.header & { pax?: Record<string, string> };
      const e: OutEntry = { name: h.name, type: h.type ?? "file", mode: h.mode ?? 0, uid: h.uid ?? 0, gid: h.gid ?? 0, mtime: (h.mtime?.getTime() ?? 0) / 1000 };
      if (h.linkname) e.linkname = h.linkname;
      if (h.type === "file") e.data = Buffer.concat(chunks).toString("utf8");
      if (h.pax) {
        const rest = Object.fromEntries(Object.entries(h.pax).filter(([k]) => !["path", "linkpath", "mtime", "size"].includes(k)));
        if (Object.keys(rest).length) e.pax = rest;
      }
      out.push(e);
    }
  })();
  x.end(Buffer.from(tar));
  await reading;
  return out;
}

/** A WritableStream gathering bytes in memory. */
export function memorySink(): { stream: WritableStream<Uint8Array>; bytes(): Uint8Array } {
  const parts: Uint8Array[] = [];
  return {
    stream: new WritableStream({ write: (c) => void parts.push(c.slice()) }),
    bytes: () => new Uint8Array(Buffer.concat(parts)),
  };
}
