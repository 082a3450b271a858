/**
 * The instants between a blob's bytes reaching their place and the
 * metadata commit that finishes its upload: a crash there must leave the
 * session whole (its row never points at missing bytes), so fsck finds
 * nothing wrong and the client's retry of the same PUT succeeds.
 */
import { expect, test } from "bun:test";
import { runFsck, type Store } from "../../../src/store/index.ts";
import { openTestStore } from "../../helpers/test-store.ts";
import { blob, streamOf, tempDir } from "./fixtures.ts";

/** The store as a crash leaves it: recordBlob never runs (throws, as if the process died on its way there). */
async function crashBeforeRecording(store: Store): Promise<void> {
  store.metadata.recordBlob = async () => {
    throw new Error("the process died here");
  };
}

test.each(["new blob", "blob the store already has (a parallel push)"])("a crash after the bytes are placed, before the row (%s): the session stays whole, a retry finishes it", async (which) => {
  await using dir = await tempDir();
  const b = blob("bytes committed just before the crash");
  let store = await openTestStore(dir.path);
  if (which !== "new blob") {
    // Bytes on disk already, without a row: what a crash of a parallel push leaves.
    await store.driver.createStaged("0f0e0d0c-0b0a-4909-8807-060504030201");
    await store.driver.writeStaged("0f0e0d0c-0b0a-4909-8807-060504030201", 0, streamOf(b.bytes));
    await store.driver.commitStaged("0f0e0d0c-0b0a-4909-8807-060504030201", b.digest, b.size);
  }
  const { id } = await store.startUpload("app");
  await store.appendUpload("app", id, streamOf(b.bytes));
  await crashBeforeRecording(store);
  await expect(store.finishUpload("app", id, b.digest)).rejects.toThrow("the process died here");
  await store.close();

  // Restart.
  store = await openTestStore(dir.path);
  try {
    for (const session of await store.metadata.staleUploads(Number.MAX_SAFE_INTEGER)) {
      expect({ session, staged: (await store.driver.stagedSize(session)) !== undefined }).toEqual({ session, staged: true });
    }
    const fsck = await runFsck(store);
    expect(fsck.problems).toEqual([]);
    // The client, seeing its PUT fail, asks where the session stands and finishes it.
    expect((await store.uploadStatus("app", id)).offset).toBe(b.size);
    await store.finishUpload("app", id, b.digest);
    expect(await new Response((await store.blob("app", b.digest)).stream()).text()).toBe("bytes committed just before the crash");
    expect(await store.metadata.staleUploads(Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect((await runFsck(store)).problems).toEqual([]);
  } finally {
    await store.close();
  }
});

test("after such a crash, a write into the session is refused: it would change the blob it became", async () => {
  await using dir = await tempDir();
  const b = blob("a committed blob must never change");
  let store = await openTestStore(dir.path);
  const { id } = await store.startUpload("app");
  await store.appendUpload("app", id, streamOf(b.bytes));
  await crashBeforeRecording(store);
  await expect(store.finishUpload("app", id, b.digest)).rejects.toThrow();
  await store.close();
  store = await openTestStore(dir.path);
  try {
    // Over what is there: the session's offset refuses it already.
    await expect(store.appendUpload("app", id, streamOf("XXXX"), { start: 0 })).rejects.toMatchObject({ code: "RANGE_INVALID" });
    // Past it: the driver refuses, the bytes are a blob now.
    const more = store.appendUpload("app", id, streamOf("more"));
    await expect(more).rejects.toMatchObject({ code: "BLOB_UPLOAD_INVALID" });
    await store.finishUpload("app", id, b.digest);
    expect(await new Response((await store.blob("app", b.digest)).stream()).text()).toBe("a committed blob must never change");
  } finally {
    await store.close();
  }
});
