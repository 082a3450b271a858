/**
 * The tar format as layers use it: ustar headers, GNU long names and
 * base-256 numbers, pax records (kept as bytes: `SCHILY.xattr.*` values
 * such as file capabilities are binary). Both directions, no dependencies,
 * so what is read is written back unchanged.
 */
export const BLOCK = 512;

export type EntryType = "file" | "link" | "symlink" | "char" | "block" | "directory" | "fifo";

/** The fields of a header block. */
interface HeaderFields {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch; pax may give a fraction. */
  mtime: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

export interface TarHeader extends HeaderFields {
  type: EntryType;
  /** pax records other than the ones that set the fields above (xattrs and the like), values as bytes. */
  pax: [string, Uint8Array][];
}

const TYPE_FLAGS: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file", // contiguous file: a regular file everywhere that matters
  "1": "link",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "directory",
  "6": "fifo",
};
const FLAG_OF: Record<EntryType, string> = { file: "0", link: "1", symlink: "2", char: "3", block: "4", directory: "5", fifo: "6" };

/** pax keys that set header fields; everything else is passed through. */
const PAX_FIELDS = new Set(["path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime"]);

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.byteLength; i++) if (block[i] !== 0) return false;
  return true;
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return fromUtf8.decode(end >= 0 ? bytes.subarray(0, end) : bytes);
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
export function readNumber(bytes: Uint8Array): number {
  const first = bytes[0] ?? 0;
  if (first & 0x80) {
    if (first === 0xff) throw new Error("negative number in tar header");
    let n = first & 0x7f;
    for (let i = 1; i < bytes.length; i++) n = n * 256 + (bytes[i] ?? 0);
    return n;
  }
  const text = cString(bytes).replace(/[ \0]+$/, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`invalid number ${JSON.stringify(text)} in tar header`);
  return Number.parseInt(text, 8);
}

export function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (block[i] ?? 0);
  return sum;
}

/** One raw header block, decoded; long names and pax are applied by the reader. */
export interface RawHeader extends HeaderFields {
  /** The typeflag byte. */
  flag: string;
}

/** Throws on a bad checksum or number. */
export function decodeHeader(block: Uint8Array): RawHeader {
  const stored = readNumber(block.subarray(148, 156));
  if (stored !== checksum(block)) throw new Error("invalid tar header checksum");
  const magic = fromUtf8.decode(block.subarray(257, 263));
  const name = cString(block.subarray(0, 100));
  // The prefix field is POSIX ustar only; GNU tar keeps times there.
  const prefix = magic === "ustar\0" ? cString(block.subarray(345, 500)) : "";
  return {
    name: prefix ? `${prefix}/${name}` : name,
    flag: String.fromCharCode(block[156] ?? 0),
    mode: readNumber(block.subarray(100, 108)),
    uid: readNumber(block.subarray(108, 116)),
    gid: readNumber(block.subarray(116, 124)),
    size: readNumber(block.subarray(124, 136)),
    mtime: readNumber(block.subarray(136, 148)),
    linkname: cString(block.subarray(157, 257)),
    uname: cString(block.subarray(265, 297)),
    gname: cString(block.subarray(297, 329)),
    devmajor: readNumber(block.subarray(329, 337)),
    devminor: readNumber(block.subarray(337, 345)),
  };
}

export function entryType(flag: string): EntryType | undefined {
  return TYPE_FLAGS[flag];
}

/** pax records `LEN key=value\n`, values as bytes. */
export function parsePax(data: Uint8Array): [string, Uint8Array][] {
  const records: [string, Uint8Array][] = [];
  let at = 0;
  while (at < data.byteLength) {
    if (data[at] === 0) break;
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new Error("invalid pax record");
    const length = Number.parseInt(fromUtf8.decode(data.subarray(at, space)), 10);
    if (!Number.isInteger(length) || length <= space - at || at + length > data.byteLength) throw new Error("invalid pax record length");
    const record = data.subarray(space + 1, at + length - 1); // without the newline
    const eq = record.indexOf(0x3d);
    if (eq < 0) throw new Error("invalid pax record");
    records.push([fromUtf8.decode(record.subarray(0, eq)), record.slice(eq + 1)]);
    at += length;
  }
  return records;
}

/** Apply pax records to a header; returns the records that set no field. */
export function applyPax(header: RawHeader, records: Iterable<[string, Uint8Array]>): [string, Uint8Array][] {
  const rest: [string, Uint8Array][] = [];
  for (const [key, value] of records) {
    const text = () => fromUtf8.decode(value);
    switch (key) {
      case "path":
        header.name = text();
        break;
      case "linkpath":
        header.linkname = text();
        break;
      case "size":
        header.size = decimal(text(), key);
        break;
      case "uid":
        header.uid = decimal(text(), key);
        break;
      case "gid":
        header.gid = decimal(text(), key);
        break;
      case "uname":
        header.uname = text();
        break;
      case "gname":
        header.gname = text();
        break;
      case "mtime":
        header.mtime = Number.parseFloat(text());
        break;
      case "atime":
      case "ctime":
        break;
      default:
        if (key.startsWith("GNU.sparse.")) throw new Error("sparse files are not supported");
        rest.push([key, value]);
    }
  }
  return rest;
}

function decimal(text: string, key: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`invalid pax ${key} ${JSON.stringify(text)}`);
  return Number.parseInt(text, 10);
}

// --- writing ---

function writeString(block: Uint8Array, offset: number, length: number, text: string): void {
  block.set(utf8.encode(text).subarray(0, length), offset);
}

function fitsOctal(n: number, width: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 8 ** (width - 1);
}

function writeOctal(block: Uint8Array, offset: number, width: number, n: number): void {
  if (fitsOctal(n, width)) {
    writeString(block, offset, width, `${n.toString(8).padStart(width - 1, "0")}\0`);
    return;
  }
  // Base-256 (readers that want it precise also get the pax record).
  let v = Math.max(0, Math.floor(n));
  for (let i = offset + width - 1; i > offset; i--) {
    block[i] = v % 256;
    v = Math.floor(v / 256);
  }
  block[offset] = 0x80;
}

/** Split a name into ustar prefix and name, if it fits. */
function splitUstar(name: string): [string, string] | undefined {
  const bytes = utf8.encode(name).byteLength;
  if (bytes <= 100) return ["", name];
  if (bytes > 256) return undefined;
  for (let i = name.indexOf("/"); i > 0; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (utf8.encode(prefix).byteLength <= 155 && utf8.encode(rest).byteLength <= 100 && rest !== "") return [prefix, rest];
  }
  return undefined;
}

function rawBlock(h: RawHeader & { prefix: string }): Uint8Array {
  const block = new Uint8Array(BLOCK);
  writeString(block, 0, 100, h.name);
  writeOctal(block, 100, 8, h.mode & 0o7777);
  writeOctal(block, 108, 8, h.uid);
  writeOctal(block, 116, 8, h.gid);
  writeOctal(block, 124, 12, h.size);
  writeOctal(block, 136, 12, h.mtime);
  block[156] = h.flag.charCodeAt(0);
  writeString(block, 157, 100, h.linkname);
  writeString(block, 257, 8, "ustar\x0000");
  writeString(block, 265, 32, h.uname);
  writeString(block, 297, 32, h.gname);
  writeOctal(block, 329, 8, h.devmajor);
  writeOctal(block, 337, 8, h.devminor);
  writeString(block, 345, 155, h.prefix);
  writeString(block, 148, 8, `${checksum(block).toString(8).padStart(6, "0")}\0 `);
  return block;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const body = new Uint8Array([...utf8.encode(` ${key}=`), ...value, 0x0a]);
  // The length counts its own digits.
  let length = body.byteLength + 1;
  while (String(length).length + body.byteLength !== length) length = String(length).length + body.byteLength;
  return new Uint8Array([...utf8.encode(String(length)), ...body]);
}

/** The blocks that start an entry: a pax header when needed, then the ustar header. */
export function encodeHeader(h: TarHeader): Uint8Array[] {
  const records: [string, Uint8Array][] = [];
  const split = splitUstar(h.name);
  if (!split) records.push(["path", utf8.encode(h.name)]);
  if (utf8.encode(h.linkname).byteLength > 100) records.push(["linkpath", utf8.encode(h.linkname)]);
  if (!fitsOctal(h.size, 12)) records.push(["size", utf8.encode(String(h.size))]);
  if (!fitsOctal(h.uid, 8)) records.push(["uid", utf8.encode(String(h.uid))]);
  if (!fitsOctal(h.gid, 8)) records.push(["gid", utf8.encode(String(h.gid))]);
  if (utf8.encode(h.uname).byteLength > 32) records.push(["uname", utf8.encode(h.uname)]);
  if (utf8.encode(h.gname).byteLength > 32) records.push(["gname", utf8.encode(h.gname)]);
  const mtime = Math.floor(h.mtime);
  if (!fitsOctal(mtime, 12) || mtime !== h.mtime) records.push(["mtime", utf8.encode(String(h.mtime))]);
  for (const [key, value] of h.pax) if (!PAX_FIELDS.has(key)) records.push([key, value]);
  const [prefix, name] = split ?? ["", h.name.slice(-100)];
  const main = rawBlock({ ...h, name, prefix, flag: FLAG_OF[h.type], mtime: Math.max(0, mtime) });
  if (!records.length) return [main];
  const data = concat(records.map(([k, v]) => paxRecord(k, v)));
  const base = h.name.replace(/\/+$/, "").split("/").pop() ?? "";
  const paxHeader = rawBlock({
    name: `PaxHeaders/${base}`.slice(0, 100),
    prefix: "",
    flag: "x",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.byteLength,
    mtime: Math.max(0, mtime),
    linkname: "",
    uname: "",
    gname: "",
    devmajor: 0,
    devminor: 0,
  });
  return [paxHeader, data, new Uint8Array(padding(data.byteLength)), main];
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
