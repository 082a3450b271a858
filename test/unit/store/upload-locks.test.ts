/**
 * One writer per upload session, across processes: the database lease
 * (on SQLite here; test/scale runs the same on PostgreSQL), and an upload
 * continued by another store instance, which has no hash state for the
 * bytes before and re-reads them on finish.
 */
import { expect, test } from "bun:test";
import { OciError } from "../../../src/oci/index.ts";
import { Store } from "../../../src/store/index.ts";
import { Metadata } from "../../../src/store/metadata.ts";
import { DatabaseUploadLocks } from "../../../src/store/upload-locks.ts";
import { blob, streamOf, tempDir } from "./fixtures.ts";

test("a lease keeps a second writer out (another process too) until released or run out", async () => {
  await using dir = await tempDir();
  const metadata = await Metadata.open({ sqliteFile: `${dir.path}/metadata.db` });
  const other = await Metadata.open({ sqliteFile: `${dir.path}/metadata.db` });
  try {
    const a = new DatabaseUploadLocks(metadata.database, { leaseMs: 200 });
    const b = new DatabaseUploadLocks(other.database, { leaseMs: 200 });
    const { promise: release, resolve } = Promise.withResolvers<void>();
    const holding = a.exclusive("u1", () => release);
    const refused = (fn: () => Promise<unknown>) =>
      fn().then(
        () => "ran",
        (error) => (OciError.is(error, "RANGE_INVALID") ? "RANGE_INVALID" : String(error)),
      );
    expect(await refused(() => a.exclusive("u1", async () => undefined))).toBe("RANGE_INVALID");
    expect(await refused(() => b.exclusive("u1", async () => undefined))).toBe("RANGE_INVALID");
    expect(a.busy("u1")).toBe(true);
    expect(b.busy("u1")).toBe(false);
    expect(await refused(() => b.exclusive("u2", async () => undefined))).toBe("ran");
    // The holder renews its lease while it works: still refused after the lease time.
    await Bun.sleep(350);
    expect(await refused(() => b.exclusive("u1", async () => undefined))).toBe("RANGE_INVALID");
    resolve();
    await holding;
    expect(await refused(() => b.exclusive("u1", async () => undefined))).toBe("ran");
    // A holder that died (a lease row nobody renews) is out once it runs out.
    await metadata.database`INSERT INTO upload_writers (id, holder, expires_at) VALUES ('u3', 'dead', ${Date.now() + 100})`;
    expect(await refused(() => b.exclusive("u3", async () => undefined))).toBe("RANGE_INVALID");
    await Bun.sleep(150);
    expect(await refused(() => b.exclusive("u3", async () => undefined))).toBe("ran");
    await b.sweep(Date.now() + 1);
  } finally {
    await metadata.close();
    await other.close();
  }
});

test("chunks of one upload through two store instances: the second finishes it, hashing what it did not see", async () => {
  await using dir = await tempDir();
  const a = await Store.open({ root: dir.path, uploadLocks: "database" });
  const b = await Store.open({ root: dir.path, uploadLocks: "database" });
  try {
    const content = blob("first chunk, then the second, then the last");
    const { id } = await a.startUpload("app");
    await a.appendUpload("app", id, streamOf("first chunk, "), { start: 0 });
    await b.appendUpload("app", id, streamOf("then the second, "), { start: 13 });
    await a.appendUpload("app", id, streamOf("then the last"), { start: 30 });
    // A hash that does not match what was sent is still caught.
    const wrong = blob("something else");
    const other = await b.startUpload("app");
    await a.appendUpload("app", other.id, streamOf("something"));
    await expect(b.finishUpload("app", other.id, wrong.digest, streamOf(" other"))).rejects.toMatchObject({ code: "DIGEST_INVALID" });
    await b.finishUpload("app", id, content.digest);
    expect(await a.statBlob("app", content.digest)).toBe(content.size);
    expect(await new Response((await a.blob("app", content.digest)).stream()).text()).toBe("first chunk, then the second, then the last");
  } finally {
    await a.close();
    await b.close();
  }
});

test("a sweep in another process leaves alone a session being written, however old, and removes it once idle", async () => {
  await using dir = await tempDir();
  const a = await Store.open({ root: dir.path, uploadLocks: "database" });
  const b = await Store.open({ root: dir.path, uploadLocks: "database" });
  try {
    const { id } = await a.startUpload("app");
    const { promise: hold, resolve: release } = Promise.withResolvers<void>();
    const { promise: inside, resolve: entered } = Promise.withResolvers<void>();
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent) {
          await hold;
          controller.close();
          return;
        }
        sent = true;
        controller.enqueue(new TextEncoder().encode("bytes"));
        entered();
      },
    });
    const writing = a.appendUpload("app", id, body);
    await inside;
    const later = Date.now() + 86_400_000;
    expect(await b.sweepUploads(0, later)).toBe(0);
    release();
    expect(await writing).toEqual({ id, offset: 5 });
    expect(await b.sweepUploads(0, later)).toBe(1);
    await expect(a.uploadStatus("app", id)).rejects.toMatchObject({ code: "BLOB_UPLOAD_UNKNOWN" });
  } finally {
    await a.close();
    await b.close();
  }
});
