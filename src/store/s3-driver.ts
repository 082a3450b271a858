/**
 * The S3 blob driver: blobs in a bucket (Ceph RGW, MinIO, AWS S3), shared
 * by every `serve` process and node. Keys under the location's prefix:
 *
 *   blobs/<algorithm>/<ab>/<hex>   committed blobs, named by digest
 *   uploads/<id>/tail-<offset>     the bytes of a staged upload after its
 *                                  last full part, up to <offset>
 *   uploads/<id>/data              the multipart upload of a staged upload
 *                                  (an object once sealed)
 *
 * A staged upload streams into a multipart upload in fixed-size parts:
 * part n holds bytes [(n-1)·P, n·P). Bytes that do not fill a part wait in
 * a tail object named by the offset they end at, and the next write reads
 * them back and goes on from there. So the state at any offset is: parts
 * 1..⌊offset/P⌋ (their ETags in the database, multipart-ledger.ts) plus
 * tail-<offset>. A write that fails leaves that state untouched (it only
 * ever writes parts past it and a tail under a new name), which is the
 * all-or-nothing promise of writeStaged; any process can take over. The
 * tails written are recorded too, so that they are removed by name: a
 * write drops those of offsets the upload has left behind, and finishing
 * drops the rest. Listing the bucket is left to the sweep of leftovers.
 *
 * Committing makes the verified bytes the blob by server-side copy:
 * from the tail object (blobs under one part), or from the staging object
 * after the parts were completed into it. Nothing appears under blobs/
 * before its digest was verified by the store. Blobs written in one
 * request with a known digest skip staging (writeBlob): a multipart upload
 * straight at the final key, completed only when the verifying stream has
 * ended without error.
 *
 * Costs: a part is buffered in memory while it fills and while it
 * uploads (2·P per upload being written, 32 MiB by default); chunks
 * smaller than P cost a read and a write of the tail; a chunked upload is
 * copied once inside the object store on commit (as the CNCF registry's S3
 * driver does), which the object store pays as a second write of the bytes.
 */
import { algorithmOf, type Digest, encodedOf, isDigest, REGISTERED_ALGORITHMS } from "../digest/index.ts";
import { type BlobContent, type ByteRange, OciError } from "../oci/index.ts";
import type { BlobDriver, StoredObject } from "./blob-driver.ts";
import type { BlobPresigner, DirectBlobWriter, DriverSweeper } from "./driver-capabilities.ts";
import type { LedgerPart, MultipartLedger } from "./multipart-ledger.ts";
import { isUploadId } from "./paths.ts";
import { isNoSuchKey, S3Bucket, SINGLE_OPERATION_MAX } from "./s3-bucket.ts";
import { describeS3Location } from "./s3-location.ts";

export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
/** S3's smallest part (all but the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** S3's part count limit: with 16 MiB parts, a blob of up to 156 GiB. */
const MAX_PARTS = 10_000;
/**
 * Parts uploaded at once per write, besides the one filling. One keeps the
 * client's bytes and the bucket's both moving; a second measured barely
 * faster against RGW and costs another part of memory per upload.
 */
const PARTS_IN_FLIGHT = 1;
/** Part size of server-side copies of blobs over 5 GiB. */
const COPY_PART_SIZE = 1024 ** 3;

export interface S3DriverOptions {
  /** Bytes per multipart part (≥ 5 MiB). Default 16 MiB. */
  partSize?: number;
}

export class S3Driver implements BlobDriver, DirectBlobWriter, BlobPresigner, DriverSweeper {
  readonly description: string;
  readonly chunkMinLength: number;
  readonly partSize: number;

  constructor(
    readonly bucket: S3Bucket,
    private readonly ledger: MultipartLedger,
    options: S3DriverOptions = {},
  ) {
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(this.partSize) || this.partSize < MIN_PART_SIZE) {
      throw new Error(`S3 part size must be at least ${MIN_PART_SIZE} bytes, not ${this.partSize}`);
    }
    // Smaller chunks work, but each costs a read and a write of the pending tail.
    this.chunkMinLength = this.partSize;
    this.description = describeS3Location(bucket.location);
  }

  // --- committed blobs ------------------------------------------------------

  #blobKey(digest: Digest): string {
    const hex = encodedOf(digest);
    return this.bucket.key(`blobs/${algorithmOf(digest)}/${hex.slice(0, 2)}/${hex}`);
  }

  async stat(digest: Digest): Promise<StoredObject | undefined> {
    if (!(algorithmOf(digest) in REGISTERED_ALGORITHMS)) return undefined;
    return this.bucket.stat(this.#blobKey(digest));
  }

  open(digest: Digest, size: number): BlobContent {
    const file = this.bucket.file(this.#blobKey(digest));
    // Only a stream: Bun answers a Response over a sliced S3 file with the whole object.
    return {
      digest,
      size,
      stream: (range?: ByteRange) => (range ? file.slice(range.start, range.end) : file).stream(),
    };
  }

  presignBlob(digest: Digest, expiresIn: number): string {
    return this.bucket.presign(this.#blobKey(digest), expiresIn);
  }

  async touch(digest: Digest): Promise<void> {
    const key = this.#blobKey(digest);
    const stat = await this.bucket.stat(key);
    // A copy onto itself is the only way to move an object's time; past 5 GiB it is not allowed.
    if (!stat || stat.size > SINGLE_OPERATION_MAX) return;
    await this.bucket.copyObject(key, key, { replaceMetadata: true }).catch((error) => {
      if (!isNoSuchKey(error)) throw error;
    });
  }

  async delete(digest: Digest): Promise<void> {
    await this.bucket.delete(this.#blobKey(digest));
  }

  async *list(): AsyncIterable<StoredObject & { digest: Digest }> {
    const prefix = this.bucket.key("blobs/");
    for await (const o of this.bucket.list(prefix)) {
      const [algorithm, , hex] = o.key.slice(prefix.length).split("/");
      const digest = `${algorithm}:${hex}`;
      if (isDigest(digest)) yield { digest, size: o.size, modified: o.modified };
    }
  }

  async writeBlob(digest: Digest, body: ReadableStream<Uint8Array>): Promise<number> {
    const key = this.#blobKey(digest);
    let multipartId: string | undefined;
    const parts: LedgerPart[] = [];
    const uploads = new PartUploads();
    const buffer = new PartBuffer(this.partSize);
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        for (let rest = chunk; rest.byteLength > 0; ) {
          rest = buffer.fill(rest);
          if (!buffer.full) continue;
          multipartId ??= await this.bucket.createMultipart(key);
          const partNumber = parts.length + 1;
          checkPartNumber(partNumber);
          const bytes = buffer.take();
          const id = multipartId;
          parts.push({ partNumber, etag: "" });
          await uploads.add(async () => {
            parts[partNumber - 1]!.etag = await this.bucket.uploadPart(key, id, partNumber, bytes);
          });
        }
      }
      await uploads.settle();
      // The body ended without an error: its digest and size were verified.
      if (multipartId === undefined) {
        await this.bucket.write(key, buffer.take());
        return size;
      }
      if (buffer.length > 0) {
        checkPartNumber(parts.length + 1);
        parts.push({ partNumber: parts.length + 1, etag: await this.bucket.uploadPart(key, multipartId, parts.length + 1, buffer.take()) });
      }
      await this.bucket.completeMultipart(key, multipartId, parts);
      return size;
    } catch (error) {
      await uploads.settle().catch(() => undefined);
      if (multipartId !== undefined) await this.bucket.abortMultipart(key, multipartId).catch(() => undefined);
      throw error;
    }
  }

  // --- staged uploads -------------------------------------------------------

  #uploadKey(id: string, name: string): string {
    if (!isUploadId(id)) throw new Error(`invalid upload id ${JSON.stringify(id)}`);
    return this.bucket.key(`uploads/${id}/${name}`);
  }

  #tailKey(id: string, offset: number): string {
    return this.#uploadKey(id, `tail-${offset}`);
  }

  async createStaged(id: string): Promise<void> {
    this.#uploadKey(id, "");
    await this.ledger.create(id);
  }

  /** Best effort: the furthest offset the bucket holds bytes for. */
  async stagedSize(id: string): Promise<number | undefined> {
    if (!isUploadId(id)) return undefined;
    const staged = await this.ledger.get(id);
    if (!staged) return undefined;
    if (staged.sealedSize !== undefined) return staged.sealedSize;
    return Math.max(0, ...(await this.ledger.tails(id)));
  }

  async writeStaged(id: string, offset: number, body: ReadableStream<Uint8Array>): Promise<number> {
    const staged = await this.ledger.get(id);
    if (!staged) throw new Error(`no staged upload ${id}`);
    if (staged.sealedSize !== undefined) {
      // Committed (or being read back to hash it): a write here could change a blob.
      throw new OciError("BLOB_UPLOAD_INVALID", `upload ${id} is complete; finish it with a PUT without a body, or start a new upload`);
    }
    const buffer = new PartBuffer(this.partSize);
    if (offset % this.partSize !== 0) buffer.fill(await this.#readTail(id, offset));
    const key = this.#uploadKey(id, "data");
    let multipartId = staged.multipartId;
    let partNumber = Math.floor(offset / this.partSize) + 1;
    let written = 0;
    const uploads = new PartUploads();
    try {
      for await (const chunk of body) {
        written += chunk.byteLength;
        for (let rest = chunk; rest.byteLength > 0; ) {
          rest = buffer.fill(rest);
          if (!buffer.full) continue;
          if (multipartId === undefined) {
            multipartId = await this.bucket.createMultipart(key);
            await this.ledger.setMultipart(id, multipartId);
          }
          checkPartNumber(partNumber);
          const bytes = buffer.take();
          const n = partNumber++;
          const mp = multipartId;
          await uploads.add(async () => {
            const etag = await this.bucket.uploadPart(key, mp, n, bytes);
            await this.ledger.putPart(id, n, etag);
          });
        }
      }
      await uploads.settle();
    } catch (error) {
      await uploads.settle().catch(() => undefined);
      throw error;
    }
    const end = offset + written;
    if (written > 0 && buffer.length > 0) {
      await this.bucket.write(this.#tailKey(id, end), buffer.take());
      await this.ledger.addTail(id, end);
    }
    // The upload stands at `offset`: other tails are behind it, or from writes that failed.
    await this.#dropTails(id, (await this.ledger.tails(id)).filter((t) => t !== offset && t !== end));
    return written;
  }

  readStaged(id: string, length?: number): ReadableStream<Uint8Array> {
    if (length === undefined) throw new Error("reading a staged upload from S3 needs its length");
    const chunks = async function* (this: S3Driver): AsyncGenerator<Uint8Array> {
      if (length === 0) return;
      const source = length < this.partSize ? this.#tailKey(id, length) : await this.#seal(id, length);
      for await (const chunk of this.bucket.file(source).slice(0, length).stream()) yield chunk;
    }.call(this);
    return iteratorStream(chunks);
  }

  async commitStaged(id: string, digest: Digest, length: number): Promise<void> {
    const key = this.#blobKey(digest);
    if (length < this.partSize) {
      if (length === 0) await this.bucket.write(key, new Uint8Array(0));
      else await this.bucket.copyObject(this.#tailKey(id, length), key);
      // Committed: no more writes (larger uploads are sealed by #seal).
      await this.ledger.seal(id, length);
    } else {
      const source = await this.#seal(id, length);
      if (length <= SINGLE_OPERATION_MAX) await this.bucket.copyObject(source, key);
      else await this.#copyLarge(source, key, length);
    }
    // The staged upload stays until the store drops it after its metadata commit: a crash in between
    // leaves the session whole, and committing again copies again.
  }

  async deleteStaged(id: string): Promise<void> {
    if (!isUploadId(id)) return;
    const staged = await this.ledger.get(id);
    // The ledger row goes last: without one there is nothing (sweep removes what a crash left unrecorded).
    if (!staged) return;
    // Parts completed into the staging object, or (a multipart upload a failed write began) still pending.
    const completed = staged.sealedSize !== undefined && staged.sealedSize >= this.partSize;
    if (staged.multipartId && !completed) await this.bucket.abortMultipart(this.#uploadKey(id, "data"), staged.multipartId);
    await this.#dropTails(id, await this.ledger.tails(id));
    if (completed) await this.bucket.delete(this.#uploadKey(id, "data"));
    await this.ledger.forget(id);
  }

  async #dropTails(id: string, offsets: number[]): Promise<void> {
    if (offsets.length === 0) return;
    await Promise.all(offsets.map((t) => this.bucket.delete(this.#tailKey(id, t))));
    await this.ledger.dropTails(id, offsets);
  }

  async *listStaged(): AsyncIterable<StoredObject & { id: string }> {
    for (const s of await this.ledger.all()) yield { id: s.id, size: s.sealedSize ?? 0, modified: s.created };
  }

  /**
   * Leftovers of crashes: multipart uploads no staged upload owns (a
   * process died writing a blob), and objects under uploads/ of staged
   * uploads the ledger no longer knows.
   */
  async sweep(before: number): Promise<number> {
    let removed = 0;
    const prefix = this.bucket.key("uploads/");
    for await (const o of this.bucket.list(prefix)) {
      const id = o.key.slice(prefix.length).split("/")[0]!;
      if (o.modified >= before || (isUploadId(id) && (await this.ledger.get(id)))) continue;
      await this.bucket.delete(o.key);
      removed++;
    }
    for await (const u of this.bucket.listMultipartUploads(this.bucket.key(""))) {
      if (u.initiated >= before) continue;
      const rest = u.key.slice(this.bucket.key("").length);
      const id = /^uploads\/([^/]+)\/data$/.exec(rest)?.[1];
      if (id !== undefined && (await this.ledger.get(id))?.multipartId === u.uploadId) continue;
      if (id === undefined && !rest.startsWith("blobs/")) continue;
      await this.bucket.abortMultipart(u.key, u.uploadId);
      removed++;
    }
    return removed;
  }

  async #readTail(id: string, offset: number): Promise<Uint8Array> {
    const expected = offset % this.partSize;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await this.bucket.file(this.#tailKey(id, offset)).arrayBuffer());
    } catch (error) {
      if (isNoSuchKey(error)) throw new Error(`staged upload ${id} has no bytes up to ${offset}`);
      throw error;
    }
    if (bytes.byteLength !== expected) throw new Error(`staged upload ${id}: tail up to ${offset} has ${bytes.byteLength} bytes, expected ${expected}`);
    return bytes;
  }

  /** Complete the parts (and the tail, as the last part) into the staging object; returns its key. */
  async #seal(id: string, length: number): Promise<string> {
    const key = this.#uploadKey(id, "data");
    const staged = await this.ledger.get(id);
    if (!staged) throw new Error(`no staged upload ${id}`);
    if (staged.sealedSize !== undefined) {
      if (staged.sealedSize !== length) throw new Error(`staged upload ${id} was sealed at ${staged.sealedSize} bytes, not ${length}`);
      return key;
    }
    const full = Math.floor(length / this.partSize);
    const parts = await this.ledger.parts(id, full);
    if (!staged.multipartId || parts.length !== full || parts.some((p, i) => p.partNumber !== i + 1)) {
      throw new Error(`staged upload ${id} is missing parts below ${length} bytes`);
    }
    if (length % this.partSize !== 0) {
      checkPartNumber(full + 1);
      const etag = await this.bucket.uploadPartCopy(key, staged.multipartId, full + 1, this.#tailKey(id, length));
      parts.push({ partNumber: full + 1, etag });
    }
    await this.bucket.completeMultipart(key, staged.multipartId, parts);
    await this.ledger.seal(id, length);
    return key;
  }

  /** Server-side copy past the 5 GiB limit of CopyObject: a multipart upload of copied ranges. */
  async #copyLarge(source: string, key: string, size: number): Promise<void> {
    const multipartId = await this.bucket.createMultipart(key);
    try {
      const parts: LedgerPart[] = [];
      for (let start = 0; start < size; start += COPY_PART_SIZE) {
        const partNumber = parts.length + 1;
        const range = { start, end: Math.min(size, start + COPY_PART_SIZE) };
        parts.push({ partNumber, etag: await this.bucket.uploadPartCopy(key, multipartId, partNumber, source, range) });
      }
      await this.bucket.completeMultipart(key, multipartId, parts);
    } catch (error) {
      await this.bucket.abortMultipart(key, multipartId).catch(() => undefined);
      throw error;
    }
  }
}

function checkPartNumber(n: number): void {
  if (n > MAX_PARTS) {
    throw new OciError("SIZE_INVALID", `blob too large for the store's S3 part size (more than ${MAX_PARTS} parts); a larger part size takes it`, undefined, 413);
  }
}

/** Smallest buffer a part starts in: most blobs (configs, small layers) never need a whole part. */
const FIRST_BUFFER = 64 * 1024;

/** Gathers stream chunks into parts of exactly `size` bytes, growing its buffer as bytes come. */
class PartBuffer {
  #bytes = new Uint8Array(0);
  #length = 0;

  constructor(private readonly size: number) {}

  get length(): number {
    return this.#length;
  }

  get full(): boolean {
    return this.#length === this.size;
  }

  /** Copy as much of `chunk` as fits; returns the rest. */
  fill(chunk: Uint8Array): Uint8Array {
    const n = Math.min(chunk.byteLength, this.size - this.#length);
    if (this.#length + n > this.#bytes.byteLength) {
      let capacity = Math.max(this.#bytes.byteLength, FIRST_BUFFER);
      while (capacity < this.#length + n) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, this.size));
      grown.set(this.#bytes.subarray(0, this.#length));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk.subarray(0, n), this.#length);
    this.#length += n;
    return chunk.subarray(n);
  }

  /** The bytes gathered so far; the buffer starts over (a new one: the old may be in flight). */
  take(): Uint8Array {
    const bytes = this.#bytes.subarray(0, this.#length);
    this.#bytes = new Uint8Array(0);
    this.#length = 0;
    return bytes;
  }
}

/** At most PARTS_IN_FLIGHT part uploads at once; the first failure is rethrown. */
class PartUploads {
  readonly #running = new Set<Promise<void>>();
  #error: unknown;
  #failed = false;

  async add(upload: () => Promise<void>): Promise<void> {
    if (this.#failed) throw this.#error;
    while (this.#running.size >= PARTS_IN_FLIGHT) await Promise.race(this.#running);
    if (this.#failed) throw this.#error;
    const p: Promise<void> = upload()
      .catch((error) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#error = error;
        }
      })
      .finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async settle(): Promise<void> {
    await Promise.all(this.#running);
    if (this.#failed) throw this.#error;
  }
}

function iteratorStream(iterator: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream({
    async pull(controller) {
      try {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}
