/**
 * Write a tar stream. Headers are small and many, so they are gathered
 * into larger writes; file content passes through as it arrives, with the
 * destination's backpressure respected.
 */
import { BLOCK, encodeHeader, padding, type TarHeader } from "./tar-format.ts";

const GATHER = 256 * 1024;

export class TarWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #buffer = new Uint8Array(GATHER);
  #used = 0;
  /** Bytes written so far. */
  bytes = 0;

  constructor(output: WritableStream<Uint8Array>) {
    this.#writer = output.getWriter();
  }

  /** Add an entry. A file's body must yield exactly `header.size` bytes. */
  async add(header: TarHeader, body?: AsyncIterable<Uint8Array>): Promise<void> {
    for (const part of encodeHeader(header)) await this.#queue(part);
    if (header.type !== "file") return;
    let written = 0;
    if (body) {
      for await (const chunk of body) {
        written += chunk.byteLength;
        if (written > header.size) throw new Error(`${header.name}: more content than its size ${header.size}`);
        await this.#queue(chunk);
      }
    }
    if (written !== header.size) throw new Error(`${header.name}: ${written} bytes of content, the header says ${header.size}`);
    await this.#queue(new Uint8Array(padding(header.size)));
  }

  /** Two zero blocks end the archive. */
  async finish(): Promise<void> {
    await this.#queue(new Uint8Array(2 * BLOCK));
    await this.#flush();
    await this.#writer.close();
  }

  async abort(reason: unknown): Promise<void> {
    await this.#writer.abort(reason).catch(() => undefined);
  }

  async #queue(bytes: Uint8Array): Promise<void> {
    if (bytes.byteLength >= GATHER) {
      await this.#flush();
      await this.#write(bytes);
      return;
    }
    let at = 0;
    while (at < bytes.byteLength) {
      const n = Math.min(bytes.byteLength - at, GATHER - this.#used);
      this.#buffer.set(bytes.subarray(at, at + n), this.#used);
      this.#used += n;
      at += n;
      if (this.#used === GATHER) await this.#flush();
    }
  }

  async #flush(): Promise<void> {
    if (this.#used === 0) return;
    const used = this.#used;
    this.#used = 0;
    // The buffer is reused only after the write completed, so no copy is needed.
    await this.#write(this.#buffer.subarray(0, used));
  }

  async #write(bytes: Uint8Array): Promise<void> {
    await this.#writer.ready;
    this.bytes += bytes.byteLength;
    await this.#writer.write(bytes);
  }
}
