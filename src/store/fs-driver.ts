/**
 * The filesystem blob driver: blobs under `<root>/blobs`, staged uploads
 * under `<root>/uploads` on the same filesystem, so committing is one
 * rename. See paths.ts for the tree.
 */
import { link, mkdir, open, readdir, rename, rm, stat, truncate, utimes } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, isDigest, REGISTERED_ALGORITHMS, algorithmOf } from "../digest/index.ts";
import { type BlobContent, type ByteRange, OciError } from "../oci/index.ts";
import type { BlobDriver, StoredObject } from "./blob-driver.ts";
import { openBlobPieces } from "./blob-pieces.ts";
import type { FileStager } from "./driver-capabilities.ts";
import { fsyncDir, isNotFound, mkdirDurable, writeAll } from "./durable.ts";
import { blobDir, blobPath, blobsDir, isUploadId, uploadPath, uploadsDir } from "./paths.ts";

/** Writes are gathered to this size before each write(2); request bodies arrive in small pieces. */
const WRITE_BUFFER_SIZE = 1024 * 1024;

/**
 * stageFile's pieces. Small enough that a piece read, hashed and written
 * stays in the CPU's cache between the three: measured on an import of
 * 1.6 GB, 4 MiB pieces cost twice the CPU time of 256 KiB ones, 512 KiB
 * a third more.
 */
const PIECE_SIZE = 256 * 1024;

export class FilesystemDriver implements BlobDriver, FileStager {
  readonly description: string;
  /**
   * A local disk takes any chunk size, but every PATCH costs an fsync and a
   * metadata commit; this hint keeps chunked pushes from becoming
   * thousands of tiny commits. Smaller chunks are still accepted.
   */
  readonly chunkMinLength = 64 * 1024;

  private constructor(readonly root: string) {
    this.description = root;
  }

  static async open(root: string): Promise<FilesystemDriver> {
    await mkdir(blobsDir(root), { recursive: true });
    await mkdir(uploadsDir(root), { recursive: true });
    return new FilesystemDriver(root);
  }

  async stat(digest: Digest): Promise<StoredObject | undefined> {
    if (!(algorithmOf(digest) in REGISTERED_ALGORITHMS)) return undefined;
    try {
      const s = await stat(blobPath(this.root, digest));
      return { size: s.size, modified: s.mtimeMs };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  open(digest: Digest, size: number): BlobContent {
    const file = Bun.file(blobPath(this.root, digest));
    const view = (range?: ByteRange): Blob => (range ? file.slice(range.start, range.end) : file);
    return {
      digest,
      size,
      stream: (range) => view(range).stream(),
      blob: view,
    };
  }

  async touch(digest: Digest): Promise<void> {
    const now = new Date();
    await utimes(blobPath(this.root, digest), now, now).catch((error) => {
      if (!isNotFound(error)) throw error;
    });
  }

  async delete(digest: Digest): Promise<void> {
    await rm(blobPath(this.root, digest), { force: true });
  }

  async *list(): AsyncIterable<StoredObject & { digest: Digest }> {
    for (const algorithm of await readdirOrEmpty(blobsDir(this.root))) {
      for (const shard of await readdirOrEmpty(join(blobsDir(this.root), algorithm))) {
        const dir = join(blobsDir(this.root), algorithm, shard);
        for (const name of await readdirOrEmpty(dir)) {
          const digest = `${algorithm}:${name}`;
          if (!isDigest(digest)) continue;
          try {
            const s = await stat(join(dir, name));
            yield { digest, size: s.size, modified: s.mtimeMs };
          } catch (error) {
            if (!isNotFound(error)) throw error;
          }
        }
      }
    }
  }

  async createStaged(id: string): Promise<void> {
    const handle = await open(uploadPath(this.root, id), "wx");
    await handle.close();
    await fsyncDir(uploadsDir(this.root));
  }

  async stagedSize(id: string): Promise<number | undefined> {
    if (!isUploadId(id)) return undefined;
    try {
      return (await stat(uploadPath(this.root, id))).size;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async writeStaged(id: string, offset: number, body: ReadableStream<Uint8Array>): Promise<number> {
    const handle = await open(uploadPath(this.root, id), "r+");
    try {
      const { size, nlink } = await handle.stat();
      if (nlink > 1) {
        // Linked into blobs/ already (commitStaged): a write here would change a committed blob.
        throw new OciError("BLOB_UPLOAD_INVALID", `upload ${id} is complete; finish it with a PUT without a body, or start a new upload`);
      }
      if (size < offset) throw new Error(`staged upload ${id} has ${size} bytes, cannot write at ${offset}`);
      if (size > offset) await handle.truncate(offset);
      let position = offset;
      try {
        const buffer = new Uint8Array(WRITE_BUFFER_SIZE);
        let filled = 0;
        for await (const chunk of body) {
          if (filled + chunk.byteLength > buffer.byteLength && filled > 0) {
            await writeAll(handle, buffer.subarray(0, filled), position);
            position += filled;
            filled = 0;
          }
          if (chunk.byteLength >= buffer.byteLength) {
            await writeAll(handle, chunk, position);
            position += chunk.byteLength;
          } else {
            buffer.set(chunk, filled);
            filled += chunk.byteLength;
          }
        }
        if (filled > 0) {
          await writeAll(handle, buffer.subarray(0, filled), position);
          position += filled;
        }
        await handle.sync();
      } catch (error) {
        await handle.truncate(offset).catch(() => undefined);
        throw error;
      }
      return position - offset;
    } finally {
      await handle.close();
    }
  }

  /**
   * Two buffers in turn: while one piece is hashed (on this thread) and
   * written (in the background), the next is read into the other buffer.
   * Not one stream or chunk allocated per piece, and the staged file's
   * directory is not flushed: only the link that commits it must last.
   */
  async stageFile(id: string, body: Blob, onPiece: (piece: Uint8Array) => void): Promise<number> {
    const source = await openBlobPieces(body);
    try {
      const handle = await open(uploadPath(this.root, id), "wx");
      try {
        let current = new Uint8Array(PIECE_SIZE);
        let spare = new Uint8Array(PIECE_SIZE);
        let position = 0;
        let length = await source.read(current, 0);
        while (length > 0) {
          const piece = current.subarray(0, length);
          const reading = source.read(spare, position + length);
          const writing = writeAll(handle, piece, position);
          let refused: { error: unknown } | undefined;
          try {
            onPiece(piece);
          } catch (error) {
            refused = { error };
          }
          // Both settle before anything is thrown: no write may land after the handle is closed.
          const [wrote, read] = await Promise.allSettled([writing, reading]);
          if (refused) throw refused.error;
          if (wrote.status === "rejected") throw wrote.reason;
          if (read.status === "rejected") throw read.reason;
          position += length;
          length = read.value;
          [current, spare] = [spare, current];
        }
        await handle.sync();
        return position;
      } finally {
        await handle.close();
      }
    } finally {
      await source.close();
    }
  }

  readStaged(id: string, length?: number): ReadableStream<Uint8Array> {
    const file = Bun.file(uploadPath(this.root, id));
    return (length === undefined ? file : file.slice(0, length)).stream();
  }

  /**
   * The staged file is hard-linked into place, not renamed: it stays under
   * uploads/ until the store has recorded the blob and calls deleteStaged.
   * A crash between the two leaves a session whose bytes are all there (a
   * retried PUT finishes it) and a blob file no row names yet (gc's
   * business), never a session row pointing at nothing.
   */
  async commitStaged(id: string, digest: Digest, length: number): Promise<void> {
    const staged = uploadPath(this.root, id);
    if (await this.stat(digest)) {
      // Same digest, same bytes: the copy already there wins.
      await this.touch(digest);
      return;
    }
    const { size } = await stat(staged);
    if (size !== length) {
      // Bytes past the recorded length were written by an append that never committed.
      if (size < length) throw new Error(`staged upload ${id} has ${size} bytes, expected ${length}`);
      await truncate(staged, length);
      const handle = await open(staged, "r+");
      await handle.sync().finally(() => handle.close());
    }
    // A session may have sat idle for hours: the committed blob must look new to gc.
    const now = new Date();
    await utimes(staged, now, now);
    await mkdirDurable(blobDir(this.root, digest));
    try {
      await link(staged, blobPath(this.root, digest));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A parallel commit of the same bytes got there first.
      if (code === "EEXIST") return this.touch(digest);
      // A filesystem without hard links: move the bytes instead.
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EMLINK") throw error;
      await rename(staged, blobPath(this.root, digest));
      await fsyncDir(uploadsDir(this.root));
    }
    await fsyncDir(blobDir(this.root, digest));
  }

  async deleteStaged(id: string): Promise<void> {
    if (!isUploadId(id)) return;
    await rm(uploadPath(this.root, id), { force: true });
  }

  async *listStaged(): AsyncIterable<StoredObject & { id: string }> {
    for (const id of await readdirOrEmpty(uploadsDir(this.root))) {
      if (!isUploadId(id)) continue;
      try {
        const s = await stat(uploadPath(this.root, id));
        yield { id, size: s.size, modified: s.mtimeMs };
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }
}

async function readdirOrEmpty(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}
