/**
 * The 512-byte tar header (POSIX ustar, with the GNU and pax extensions
 * readers meet in the wild), decoded and encoded.
 *
 *   offset  size  field              offset  size  field
 *        0   100  name                  257     6  magic ("ustar\0" POSIX, "ustar " GNU)
 *      100     8  mode                  263     2  version
 *      108     8  uid                   265    32  uname
 *      116     8  gid                   297    32  gname
 *      124    12  size (octal, or       329     8  devmajor
 *                 base-256 when the     337     8  devminor
 *                 high bit is set)      345   155  prefix (POSIX only)
 *      136    12  mtime
 *      148     8  checksum
 *      156     1  typeflag
 *      157   100  linkname
 */
import { TarError } from "./tar-error.ts";

export const BLOCK = 512;

export interface RawHeader {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  linkname: string;
  /** POSIX ustar: the name is prefix + "/" + name. */
  prefix: string;
}

const decoder = new TextDecoder("utf-8");

function text(block: Uint8Array, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end++;
  return decoder.decode(block.subarray(offset, end));
}

/** A numeric field: octal text, or GNU base-256 (for sizes of 8 GiB and up). */
function numeric(block: Uint8Array, offset: number, length: number, field: string): number {
  if ((block[offset]! & 0x80) !== 0) {
    if (block[offset] === 0xff) throw new TarError(`tar header has a negative ${field}`);
    let value = block[offset]! & 0x7f;
    for (let i = offset + 1; i < offset + length; i++) {
      value = value * 256 + block[i]!;
      if (value > Number.MAX_SAFE_INTEGER) throw new TarError(`tar header ${field} is too large`);
    }
    return value;
  }
  const digits = text(block, offset, length).trim();
  if (digits === "") return 0;
  if (!/^[0-7]+$/.test(digits)) throw new TarError(`tar header has an invalid ${field} ${JSON.stringify(digits)}`);
  const value = Number.parseInt(digits, 8);
  if (!Number.isSafeInteger(value)) throw new TarError(`tar header ${field} is too large`);
  return value;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Sum of the header bytes with the checksum field read as spaces (unsigned and signed, as old tars used either). */
function checksums(block: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return [unsigned, signed];
}

export function decodeHeader(block: Uint8Array): RawHeader {
  const storedText = text(block, 148, 8).trim();
  const stored = /^[0-7]{1,7}$/.test(storedText) ? Number.parseInt(storedText, 8) : -1;
  const [unsigned, signed] = checksums(block);
  if (stored !== unsigned && stored !== signed) throw new TarError("tar header checksum mismatch: not a tar archive, or corrupt");
  const magic = text(block, 257, 6);
  return {
    name: text(block, 0, 100),
    mode: numeric(block, 100, 8, "mode"),
    size: numeric(block, 124, 12, "size"),
    typeflag: String.fromCharCode(block[156]!),
    linkname: text(block, 157, 100),
    // GNU tar ("ustar " magic) keeps other fields where POSIX has the prefix.
    prefix: magic === "ustar" && block[262] === 0 ? text(block, 345, 155) : "",
  };
}

/** Records of a pax extended header: `<length> <key>=<value>\n`. */
export function parsePax(data: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.byteLength) {
    let space = at;
    while (space < data.byteLength && data[space] !== 0x20) space++;
    const length = Number.parseInt(decoder.decode(data.subarray(at, space)), 10);
    if (!Number.isSafeInteger(length) || length <= space - at + 1 || at + length > data.byteLength) {
      if (data.subarray(at).every((b) => b === 0)) break;
      throw new TarError("tar pax header is malformed");
    }
    const record = decoder.decode(data.subarray(space + 1, at + length - 1));
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

export interface HeaderFields {
  name: string;
  size: number;
  /** "0" file, "5" directory, "x" pax. */
  typeflag: "0" | "5" | "x";
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
}

const encoder = new TextEncoder();

function put(block: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.byteLength > length) throw new RangeError(`tar field too long: ${value}`);
  block.set(bytes, offset);
}

function putOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  put(block, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** A POSIX ustar header; names and sizes that do not fit need a pax header first (see tar-writer). */
export function encodeHeader(fields: HeaderFields): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const [prefix, name] = splitName(fields.name) ?? ["", fields.name.slice(0, 100)];
  put(block, 0, 100, name);
  putOctal(block, 100, 8, fields.mode);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, fields.size <= 0o77777777777 ? fields.size : 0);
  putOctal(block, 136, 12, fields.mtime);
  block[156] = fields.typeflag.charCodeAt(0);
  put(block, 257, 6, "ustar\0");
  put(block, 263, 2, "00");
  putOctal(block, 329, 8, 0);
  putOctal(block, 337, 8, 0);
  put(block, 345, 155, prefix);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  put(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** Split a name into ustar prefix and name, or undefined when it cannot fit. */
export function splitName(name: string): [string, string] | undefined {
  const bytes = encoder.encode(name).byteLength;
  if (bytes <= 100) return ["", name];
  if (bytes > 256) return undefined;
  for (let i = name.indexOf("/"); i >= 0; i = name.indexOf("/", i + 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (encoder.encode(prefix).byteLength <= 155 && encoder.encode(rest).byteLength <= 100 && rest.length > 0) return [prefix, rest];
  }
  return undefined;
}

/** The bytes of a pax record set, each `<len> key=value\n` with len counting itself. */
export function encodePax(records: [string, string][]): Uint8Array {
  let out = "";
  for (const [key, value] of records) {
    const body = ` ${key}=${value}\n`;
    const bodyLength = encoder.encode(body).byteLength;
    let length = bodyLength + String(bodyLength).length;
    if (String(length).length > String(bodyLength).length) length = bodyLength + String(length).length;
    out += `${length}${body}`;
  }
  return encoder.encode(out);
}

export function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
