/**
 * An index of a tar file's entries, built in one pass over the headers and
 * never extracting anything: each regular file becomes (offset, size), and
 * its bytes are served later as a zero-copy slice of the tar
 * (`Bun.file(tar).slice(offset, offset + size)`), so any number of entries
 * can be read in parallel.
 *
 * Archives are untrusted. Names are normalised and refused when absolute or
 * climbing out with `..`; links must point inside the archive; sizes must fit
 * in the file (a truncated archive is an error, not a short read); pax and
 * GNU long-name records are bounded, and so is the number of entries.
 */
import { open } from "node:fs/promises";
import { BLOCK, decodeHeader, isZeroBlock, padding, parsePax } from "./tar-header.ts";
import { TarError } from "./tar-error.ts";

export type TarEntryType = "file" | "directory" | "symlink" | "hardlink" | "other";

export interface TarEntry {
  /** Normalised path: no leading `./` or `/`, no trailing `/`. */
  name: string;
  type: TarEntryType;
  /** Offset of the data in the tar file. */
  offset: number;
  size: number;
  /** For links: the normalised archive path the link points at. */
  target?: string;
}

export interface TarIndexOptions {
  /** Refuse archives with more entries. Default 1,000,000. */
  maxEntries?: number;
  /** Largest pax or GNU long-name record accepted. Default 1 MiB. */
  maxExtendedHeader?: number;
}

/** Link chains longer than this are loops (Linux stops at 40 too). */
const MAX_LINK_HOPS = 40;
const MAX_PATH = 4096;
const WINDOW = 64 * 1024;

export class TarIndex {
  private constructor(
    readonly path: string,
    readonly size: number,
    readonly entries: ReadonlyMap<string, TarEntry>,
  ) {}

  static async open(path: string, options: TarIndexOptions = {}): Promise<TarIndex> {
    const maxEntries = options.maxEntries ?? 1_000_000;
    const maxExtended = options.maxExtendedHeader ?? 1024 * 1024;
    const handle = await open(path, "r");
    try {
      const size = (await handle.stat()).size;
      const entries = new Map<string, TarEntry>();
      const block = new Uint8Array(BLOCK);
      let position = 0;
      let count = 0;
      let longName: string | undefined;
      let longLink: string | undefined;
      let pax = new Map<string, string>();
      const global = new Map<string, string>();

      // Headers are read through a window, so a run of small entries costs
      // one read, not one per header.
      const window = new Uint8Array(WINDOW);
      let windowStart = 0;
      let windowEnd = 0;
      const readBlock = async (at: number) => {
        if (at < windowStart || at + BLOCK > windowEnd) {
          const { bytesRead } = await handle.read(window, 0, WINDOW, at);
          windowStart = at;
          windowEnd = at + bytesRead;
        }
        const available = Math.max(0, Math.min(BLOCK, windowEnd - at));
        if (available === 0) return false;
        if (available < BLOCK) {
          throw new TarError(at === 0 ? `${path}: not a tar archive` : `${path}: truncated tar (a header at byte ${at} is cut short)`);
        }
        block.set(window.subarray(at - windowStart, at - windowStart + BLOCK));
        return true;
      };
      const readData = async (at: number, length: number, what: string) => {
        if (length > maxExtended) throw new TarError(`${path}: ${what} record at byte ${at} is ${length} bytes; refusing`);
        if (at + length > size) throw new TarError(`${path}: truncated tar (${what} record at byte ${at} runs past the end)`);
        const data = new Uint8Array(length);
        await handle.read(data, 0, length, at);
        return data;
      };

      for (;;) {
        if (!(await readBlock(position))) break;
        if (isZeroBlock(block)) break;
        if (++count > maxEntries) throw new TarError(`${path}: more than ${maxEntries} tar entries; refusing`);
        let header;
        try {
          header = decodeHeader(block);
        } catch (error) {
          if (position === 0) throw new TarError(`${path}: not a tar archive`);
          throw new TarError(`${path}: ${(error as Error).message} (header at byte ${position})`);
        }
        const dataOffset = position + BLOCK;
        const records = header.typeflag === "x" || header.typeflag === "g" || header.typeflag === "L" || header.typeflag === "K";
        let entrySize = header.size;
        if (!records) {
          const paxSize = pax.get("size");
          if (paxSize !== undefined) {
            if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) {
              throw new TarError(`${path}: pax size ${JSON.stringify(paxSize)} is invalid`);
            }
            entrySize = Number(paxSize);
          }
        }
        // Links and directories carry no data whatever their size field says (except in pax/GNU records).
        const dataSize = header.typeflag === "1" || header.typeflag === "2" || header.typeflag === "5" ? 0 : entrySize;
        if (dataOffset + dataSize > size) {
          throw new TarError(`${path}: truncated tar (the entry at byte ${position} needs ${dataSize} bytes past the end)`);
        }
        position = dataOffset + dataSize + padding(dataSize);

        switch (header.typeflag) {
          case "x":
            pax = parsePax(await readData(dataOffset, dataSize, "pax"));
            continue;
          case "g":
            for (const [k, v] of parsePax(await readData(dataOffset, dataSize, "pax global"))) global.set(k, v);
            continue;
          case "L":
            longName = cString(await readData(dataOffset, dataSize, "GNU long name"));
            continue;
          case "K":
            longLink = cString(await readData(dataOffset, dataSize, "GNU long link"));
            continue;
        }
        const rawName =
          pax.get("path") ?? longName ?? (header.prefix ? `${header.prefix}/${header.name}` : header.name);
        const rawLink = pax.get("linkpath") ?? longLink ?? header.linkname;
        pax = new Map();
        longName = undefined;
        longLink = undefined;

        const name = normaliseEntryName(rawName, path);
        if (name === "") continue; // the archive root, "./"
        const type = entryType(header.typeflag);
        let target: string | undefined;
        if (type === "symlink") target = resolveSymlink(name, rawLink, path);
        if (type === "hardlink") target = normaliseEntryName(rawLink, path);
        entries.set(name, { name, type, offset: dataOffset, size: type === "file" ? entrySize : 0, ...(target !== undefined ? { target } : {}) });
      }
      return new TarIndex(path, size, entries);
    } finally {
      await handle.close();
    }
  }

  /** The regular file an archive path names, following links inside the archive. */
  resolve(name: string): TarEntry | undefined {
    let entry = this.entries.get(normaliseLookup(name));
    for (let hops = 0; entry && entry.type !== "file"; hops++) {
      if ((entry.type !== "symlink" && entry.type !== "hardlink") || hops >= MAX_LINK_HOPS || entry.target === undefined) return undefined;
      entry = this.entries.get(entry.target);
    }
    return entry;
  }

  /** The bytes of a regular file as a slice of the tar (zero-copy), or undefined. */
  file(name: string): Blob | undefined {
    const entry = this.resolve(name);
    return entry ? Bun.file(this.path).slice(entry.offset, entry.offset + entry.size) : undefined;
  }

  /** Names of entries directly or indirectly under a directory. */
  *under(directory: string): Iterable<TarEntry> {
    const prefix = `${normaliseLookup(directory)}/`;
    for (const entry of this.entries.values()) if (entry.name.startsWith(prefix)) yield entry;
  }
}

function cString(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end >= 0 ? data.subarray(0, end) : data);
}

function entryType(typeflag: string): TarEntryType {
  switch (typeflag) {
    case "0":
    case "\0":
    case "7":
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "5":
      return "directory";
    default:
      return "other";
  }
}

/**
 * `./a//b/` → `a/b`. Absolute names and names with `..` components are
 * refused: nothing here extracts, but an archive holding them is hostile or
 * broken, and the user should hear so.
 */
export function normaliseEntryName(raw: string, archive: string): string {
  if (raw.length > MAX_PATH) throw new TarError(`${archive}: a tar entry name is longer than ${MAX_PATH} characters`);
  if (raw.includes("\0")) throw new TarError(`${archive}: tar entry ${JSON.stringify(raw)} has a NUL in its name`);
  if (raw.startsWith("/")) throw new TarError(`${archive}: tar entry ${JSON.stringify(raw)} has an absolute path`);
  const parts = raw.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new TarError(`${archive}: tar entry ${JSON.stringify(raw)} climbs out of the archive with ".."`);
  return parts.join("/");
}

/** A symlink target, resolved against the link's directory, must stay inside the archive. */
function resolveSymlink(name: string, link: string, archive: string): string {
  if (link.startsWith("/")) {
    throw new TarError(`${archive}: tar entry ${JSON.stringify(name)} is a symlink to the absolute path ${JSON.stringify(link)}`);
  }
  const parts = name.split("/").slice(0, -1);
  for (const part of link.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) {
        throw new TarError(`${archive}: tar entry ${JSON.stringify(name)} is a symlink pointing out of the archive (${JSON.stringify(link)})`);
      }
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

function normaliseLookup(name: string): string {
  return name.split("/").filter((p) => p !== "" && p !== ".").join("/");
}
