/**
 * Pull exact byte counts out of a web stream: what a tar parser needs
 * (512-byte headers, then exactly `size` bytes of content) without copying
 * content chunks that are passed on whole.
 */
export class ByteReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #done = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#chunk.byteLength === 0) {
      if (this.#done) return false;
      const { done, value } = await this.#reader.read();
      if (done) {
        this.#done = true;
        return false;
      }
      this.#chunk = value;
    }
    return true;
  }

  /** Exactly `n` bytes; fewer only at the end of the stream. */
  async read(n: number): Promise<Uint8Array> {
    if (!(await this.#fill())) return new Uint8Array(0);
    if (this.#chunk.byteLength >= n) return this.#take(n);
    const out = new Uint8Array(n);
    let have = 0;
    while (have < n && (await this.#fill())) {
      const part = this.#take(Math.min(n - have, this.#chunk.byteLength));
      out.set(part, have);
      have += part.byteLength;
    }
    return have === n ? out : out.subarray(0, have);
  }

  /** The next `n` bytes as they arrive, in chunks. Throws if the stream ends first. */
  async *chunks(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TruncatedError(n - left, n);
      const part = this.#take(Math.min(left, this.#chunk.byteLength));
      left -= part.byteLength;
      yield part;
    }
  }

  /** Discard `n` bytes. */
  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n));
  }

  /** Read to the end, discarding (so a verifying stream upstream sees every byte). */
  async drain(): Promise<void> {
    while (await this.#fill()) this.#take(this.#chunk.byteLength);
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => undefined);
  }

  #take(n: number): Uint8Array {
    const part = this.#chunk.subarray(0, n);
    this.#chunk = this.#chunk.subarray(n);
    this.offset += n;
    return part;
  }
}

export class TruncatedError extends Error {
  constructor(
    readonly got: number,
    readonly wanted: number,
  ) {
    super(`unexpected end of data: ${got} of ${wanted} bytes`);
  }
}
