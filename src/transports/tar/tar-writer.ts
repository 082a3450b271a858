/**
 * A streaming tar writer that gives the same bytes for the same input:
 * POSIX ustar headers with fixed mtime, uid/gid 0, no user or group names,
 * mode 0644 for files and 0755 for directories. Names longer than ustar
 * holds and sizes of 8 GiB and more get a pax header (path, size), as GNU
 * tar and Go's archive/tar read. Entries are written in the order given:
 * callers that want reproducible archives sort them.
 *
 * Writes go to a temporary file next to the target; `finish()` flushes it,
 * renames it into place and flushes the directory, `abort()` removes it.
 */
import { TempFile } from "../fs/durable-file.ts";
import { BLOCK, encodeHeader, encodePax, padding, splitName } from "./tar-header.ts";

export interface TarWriterOptions {
  /** Seconds since the epoch stamped on every entry. Default 0. */
  mtime?: number;
}

const OCTAL_SIZE_MAX = 0o77777777777;

/**
 * The bytes in front of an entry's data, as this writer writes them: a pax
 * header first when the name or size does not fit ustar, then the ustar
 * header. Exposed so a writer that places entries at computed offsets
 * lays out the same bytes.
 */
export function entryHeader(fields: { name: string; size: number; typeflag: "0" | "5"; mode: number; mtime: number }): Uint8Array {
  const { name, size, mtime } = fields;
  const records: [string, string][] = [];
  if (!splitName(name)) records.push(["path", name]);
  if (size > OCTAL_SIZE_MAX) records.push(["size", String(size)]);
  const header = encodeHeader(fields);
  if (!records.length) return header;
  const pax = encodePax(records);
  const paxName = `PaxHeaders/${name.replace(/\/$/, "").split("/").pop()!.slice(0, 80)}`;
  const out = new Uint8Array(BLOCK + pax.byteLength + padding(pax.byteLength) + BLOCK);
  out.set(encodeHeader({ name: paxName, size: pax.byteLength, typeflag: "x", mode: 0o644, mtime }), 0);
  out.set(pax, BLOCK);
  out.set(header, out.byteLength - BLOCK);
  return out;
}

export class TarWriter {
  #position = 0;
  readonly #out: TempFile;

  private constructor(
    out: TempFile,
    readonly mtime: number,
  ) {
    this.#out = out;
  }

  static async create(path: string, options: TarWriterOptions = {}): Promise<TarWriter> {
    return new TarWriter(await TempFile.create(path), options.mtime ?? 0);
  }

  get path(): string {
    return this.#out.path;
  }

  /** The temporary file the archive is written to until finish(). */
  get temp(): string {
    return this.#out.temp;
  }

  /** Bytes written so far. */
  get position(): number {
    return this.#position;
  }

  async directory(name: string): Promise<void> {
    await this.#header(name.endsWith("/") ? name : `${name}/`, 0, "5", 0o755);
  }

  /**
   * A regular file of exactly `size` bytes from `body`; a body that is
   * shorter or longer fails the archive rather than corrupting it.
   */
  async file(name: string, size: number, body: Blob | ReadableStream<Uint8Array> | Uint8Array): Promise<void> {
    await this.#header(name, size, "0", 0o644);
    const stream = body instanceof Uint8Array ? new Blob([body as Uint8Array<ArrayBuffer>]).stream() : body instanceof Blob ? body.stream() : body;
    let written = 0;
    for await (const chunk of stream) {
      if (written + chunk.byteLength > size) throw new RangeError(`tar entry ${name}: more than the declared ${size} bytes`);
      await this.#write(chunk);
      written += chunk.byteLength;
    }
    if (written !== size) throw new RangeError(`tar entry ${name}: ${written} bytes, ${size} declared`);
    await this.#write(new Uint8Array(padding(size)));
  }

  async #header(name: string, size: number, typeflag: "0" | "5", mode: number): Promise<void> {
    await this.#write(entryHeader({ name, size, typeflag, mode, mtime: this.mtime }));
  }

  async #write(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength === 0) return;
    await this.#out.write(bytes, this.#position);
    this.#position += bytes.byteLength;
  }

  /** End the archive (two zero blocks), make it durable and put it in place. */
  async finish(): Promise<void> {
    await this.#write(new Uint8Array(2 * BLOCK));
    await this.#out.commit();
  }

  /** Drop the partial archive. */
  abort(): Promise<void> {
    return this.#out.discard();
  }
}
