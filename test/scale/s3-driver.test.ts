/**
 * The S3 blob driver against a real Ceph RGW, its part ledger in a real
 * PostgreSQL database: staged uploads in parts and tails, taken over by
 * another driver instance (another process), all-or-nothing writes,
 * commits by server-side copy, direct writes that appear only when
 * verified, and sweeping what crashed writers leave.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { type Digest, digestOf, verifyStream } from "../../src/digest/index.ts";
import { Metadata } from "../../src/store/metadata.ts";
import { SqlMultipartLedger } from "../../src/store/multipart-ledger.ts";
import { MIN_PART_SIZE, S3Driver } from "../../src/store/s3-driver.ts";
import { cephBucket, type TestBucket } from "../helpers/ceph-s3.ts";
import { postgresDatabase } from "../helpers/postgres.ts";

const P = MIN_PART_SIZE;

let bucket: TestBucket;
let metadata: Metadata;

beforeAll(async () => {
  const [url, b] = await Promise.all([postgresDatabase(), cephBucket()]);
  bucket = b;
  metadata = await Metadata.open({ url });
}, 600_000);

/** A driver as one process would have it; two of them act as two processes. */
function driver(): S3Driver {
  return new S3Driver(bucket.client, new SqlMultipartLedger(metadata.database), { partSize: P });
}

function bytes(n: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** A stream of `data` in pieces of `piece` bytes. */
function streamOf(data: Uint8Array, piece = 64 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.byteLength) return controller.close();
      controller.enqueue(data.slice(offset, offset + piece));
      offset += piece;
    },
  });
}

function failingAfter(data: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(data);
      } else controller.error(new Error("connection reset"));
    },
  });
}

async function read(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of bucket.client.list(prefix)) keys.push(o.key);
  return keys;
}

describe("staged uploads", () => {
  test("chunks of any size across part boundaries, continued by another process, committed by copy", async () => {
    const data = bytes(2 * P + 12345, 1);
    const digest = digestOf(data);
    const id = randomUUID();
    const a = driver();
    const b = driver();
    await a.createStaged(id);
    // Under a part, then across the first boundary, then exactly to the second, then a tail.
    const cuts = [1000, P + 10, 2 * P, data.byteLength];
    let offset = 0;
    for (const [i, cut] of cuts.entries()) {
      const writer = i % 2 === 0 ? a : b;
      expect(await writer.writeStaged(id, offset, streamOf(data.subarray(offset, cut), 7777))).toBe(cut - offset);
      offset = cut;
    }
    expect(await b.stagedSize(id)).toBe(data.byteLength);
    // Only the tails of the last two offsets stay while the upload moves on.
    expect(await keysUnder(bucket.client.key(`uploads/${id}/tail-`))).toEqual([bucket.client.key(`uploads/${id}/tail-${data.byteLength}`)]);
    expect(digestOf(await read(a.readStaged(id, data.byteLength)))).toBe(digest);
    await b.commitStaged(id, digest, data.byteLength);
    // Committed again, as after a crash before the store's metadata commit; no more writes.
    await a.commitStaged(id, digest, data.byteLength);
    await expect(a.writeStaged(id, data.byteLength, streamOf(bytes(1, 0)))).rejects.toMatchObject({ code: "BLOB_UPLOAD_INVALID" });
    await a.deleteStaged(id);
    expect(await a.stat(digest)).toMatchObject({ size: data.byteLength });
    const content = a.open(digest, data.byteLength);
    expect(digestOf(await read(content.stream()))).toBe(digest);
    expect(await read(content.stream({ start: P - 3, end: P + 3 }))).toEqual(data.subarray(P - 3, P + 3));
    expect(await keysUnder(bucket.client.key(`uploads/${id}/`))).toEqual([]);
    expect(await metadataRows(id)).toEqual({ staged: 0, parts: 0 });
    const listed: Digest[] = [];
    for await (const blob of a.list()) listed.push(blob.digest);
    expect(listed).toContain(digest);
  });

  test("a write that fails part-way leaves the upload where it was; writing again from there works", async () => {
    const data = bytes(P + 5000, 2);
    const digest = digestOf(data);
    const id = randomUUID();
    const d = driver();
    await d.createStaged(id);
    expect(await d.writeStaged(id, 0, streamOf(data.subarray(0, 3000)))).toBe(3000);
    // Fails after filling (and uploading) a whole part.
    await expect(d.writeStaged(id, 3000, failingAfter(data.subarray(3000, P + 4000)))).rejects.toThrow("connection reset");
    expect(digestOf(await read(d.readStaged(id, 3000)))).toBe(digestOf(data.subarray(0, 3000)));
    // Other bytes this time (a client may send anything); the earlier part is replaced.
    const other = bytes(P + 5000, 3);
    other.set(data.subarray(0, 3000));
    expect(await d.writeStaged(id, 3000, streamOf(other.subarray(3000)))).toBe(other.byteLength - 3000);
    expect(digestOf(await read(d.readStaged(id, other.byteLength)))).toBe(digestOf(other));
    await d.commitStaged(id, digestOf(other), other.byteLength);
    await d.deleteStaged(id);
    expect(digestOf(await read(d.open(digestOf(other), other.byteLength).stream()))).toBe(digestOf(other));
    expect(await d.stat(digest)).toBeUndefined();
  });

  test("small and empty blobs commit from the tail; deleting a staged upload aborts its multipart upload", async () => {
    const d = driver();
    for (const data of [new Uint8Array(0), bytes(10, 4)]) {
      const id = randomUUID();
      await d.createStaged(id);
      await d.writeStaged(id, 0, streamOf(data));
      await d.commitStaged(id, digestOf(data), data.byteLength);
      await expect(d.writeStaged(id, data.byteLength, streamOf(bytes(1, 0)))).rejects.toMatchObject({ code: "BLOB_UPLOAD_INVALID" });
      await d.deleteStaged(id);
      expect(await read(d.open(digestOf(data), data.byteLength).stream())).toEqual(data);
      expect(await keysUnder(bucket.client.key(`uploads/${id}/`))).toEqual([]);
    }
    const id = randomUUID();
    await d.createStaged(id);
    await d.writeStaged(id, 0, streamOf(bytes(P + 1, 5)));
    expect(await multipartsUnder(`uploads/${id}/`)).toHaveLength(1);
    await d.deleteStaged(id);
    expect(await multipartsUnder(`uploads/${id}/`)).toEqual([]);
    expect(await keysUnder(bucket.client.key(`uploads/${id}/`))).toEqual([]);
    expect(await d.stagedSize(id)).toBeUndefined();
  });

  test("listStaged names uploads with bytes and those only the ledger knows", async () => {
    const d = driver();
    const withBytes = randomUUID();
    const empty = randomUUID();
    await d.createStaged(withBytes);
    await d.createStaged(empty);
    await d.writeStaged(withBytes, 0, streamOf(bytes(100, 6)));
    const ids: string[] = [];
    for await (const s of d.listStaged()) ids.push(s.id);
    expect(ids).toEqual(expect.arrayContaining([withBytes, empty]));
    await d.deleteStaged(withBytes);
    await d.deleteStaged(empty);
  });
});

describe("direct writes", () => {
  test("a blob appears only when the verified stream ended well", async () => {
    const d = driver();
    for (const size of [100, 2 * P + 1]) {
      const data = bytes(size, 7 + size);
      const digest = digestOf(data);
      const wrong = digestOf(bytes(size, 99));
      await expect(d.writeBlob(wrong, streamOf(data).pipeThrough(verifyStream({ digest: wrong })))).rejects.toThrow();
      expect(await d.stat(wrong)).toBeUndefined();
      expect(await d.writeBlob(digest, streamOf(data).pipeThrough(verifyStream({ digest, size })))).toBe(size);
      expect(digestOf(await read(d.open(digest, size).stream()))).toBe(digest);
    }
    expect(await multipartsUnder("blobs/")).toEqual([]);
  });

  test("a presigned URL serves the blob and its ranges", async () => {
    const d = driver();
    const data = bytes(1000, 8);
    const digest = digestOf(data);
    await d.writeBlob(digest, streamOf(data));
    const url = d.presignBlob(digest, 60);
    expect(new Uint8Array(await (await fetch(url)).arrayBuffer())).toEqual(data);
    const ranged = await fetch(url, { headers: { Range: "bytes=10-19" } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(data.subarray(10, 20));
  });

  test("sweep aborts multipart uploads nobody owns, and spares live ones", async () => {
    const d = driver();
    const orphanKey = bucket.client.key(`blobs/sha256/00/${"0".repeat(64)}`);
    const orphan = await bucket.client.createMultipart(orphanKey);
    // A tail whose staged upload the ledger forgot (a crash between writing and recording it).
    const forgotten = bucket.client.key(`uploads/${randomUUID()}/tail-5`);
    await bucket.client.write(forgotten, bytes(5, 10));
    const live = randomUUID();
    await d.createStaged(live);
    await d.writeStaged(live, 0, streamOf(bytes(P + 3, 9)));
    expect(await d.sweep(Date.now() - 60_000)).toBe(0);
    expect(await d.sweep(Date.now() + 60_000)).toBe(2);
    expect((await multipartsUnder("blobs/")).map((u) => u.uploadId)).not.toContain(orphan);
    expect(await bucket.client.stat(forgotten)).toBeUndefined();
    expect(await multipartsUnder(`uploads/${live}/`)).toHaveLength(1);
    expect(await keysUnder(bucket.client.key(`uploads/${live}/`))).toEqual([bucket.client.key(`uploads/${live}/tail-${P + 3}`)]);
    await d.deleteStaged(live);
    expect(await keysUnder(bucket.client.key(`uploads/${live}/`))).toEqual([]);
  });
});

async function multipartsUnder(prefix: string) {
  const found = [];
  for await (const u of bucket.client.listMultipartUploads(bucket.client.key(prefix))) found.push(u);
  return found;
}

async function metadataRows(id: string): Promise<{ staged: number; parts: number }> {
  const sql = metadata.database;
  const [s] = await sql`SELECT COUNT(*) AS n FROM staged_uploads WHERE id = ${id}`;
  const [p] = await sql`SELECT COUNT(*) AS n FROM staged_parts WHERE id = ${id}`;
  return { staged: Number(s.n), parts: Number(p.n) };
}
