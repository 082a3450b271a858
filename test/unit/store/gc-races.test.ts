/**
 * gc beside writers, one interleaving at a time: the driver and the
 * metadata are paused at the instants where a delete and a push meet, and
 * the store must end consistent (every recorded blob has its bytes, every
 * manifest its references), whichever way each race goes.
 */
import { describe, expect, test } from "bun:test";
import type { Digest } from "../../../src/digest/index.ts";
import { MediaType, OciError } from "../../../src/oci/index.ts";
import { FilesystemDriver, Store } from "../../../src/store/index.ts";
import { blob, configBlob, imageManifest, streamOf, tempDir } from "./fixtures.ts";

/** A promise and its resolver: a gate a test opens when it wants. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves on the next call of `object[method]`, which then waits for `release`. */
function pauseNext<T extends object>(object: T, method: keyof T & string, release: Promise<void>): Promise<void> {
  const original = (object[method] as (...args: unknown[]) => Promise<unknown>).bind(object);
  return new Promise<void>((reached) => {
    (object as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      (object as Record<string, unknown>)[method] = original;
      reached();
      await release;
      return original(...args);
    };
  });
}

/** Resolves once the next call of `object[method]` has returned. */
function afterNext<T extends object>(object: T, method: keyof T & string): Promise<void> {
  const original = (object[method] as (...args: unknown[]) => Promise<unknown>).bind(object);
  return new Promise<void>((returned) => {
    (object as Record<string, unknown>)[method] = async (...args: unknown[]) => {
      (object as Record<string, unknown>)[method] = original;
      try {
        return await original(...args);
      } finally {
        returned();
      }
    };
  });
}

async function openStore(root: string) {
  const driver = await FilesystemDriver.open(root);
  const store = await Store.open({ root, driver });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

/** Every recorded blob has bytes of its recorded size; every manifest's references are there. */
async function expectConsistent(store: Store): Promise<void> {
  const problems: string[] = [];
  for await (const b of store.allBlobs()) {
    const stat = await store.driver.stat(b.digest);
    if (!stat) problems.push(`blob ${b.digest} has a row but no bytes`);
    else if (stat.size !== b.size) problems.push(`blob ${b.digest} is ${stat.size} bytes, recorded ${b.size}`);
  }
  for await (const m of store.allManifests()) {
    const content = await store.manifest(m.repository, m.digest);
    const parsed = JSON.parse(new TextDecoder().decode(content.bytes)) as { config?: { digest: Digest }; layers?: { digest: Digest }[] };
    for (const d of [parsed.config, ...(parsed.layers ?? [])].filter((x) => x !== undefined)) {
      if ((await store.statBlob(m.repository, d.digest)) === undefined) problems.push(`${m.repository}@${m.digest} needs ${d.digest}`);
    }
  }
  expect(problems).toEqual([]);
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OciError) return `${error.code} ${error.status}`;
    throw error;
  }
  return "resolved";
}

const LATER = () => Date.now() + 1000;

describe("gc deleting a blob while a client pushes it", () => {
  test("a push that finds the blob on disk while gc is deleting it stores the bytes again", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("shared layer");
    await store.putBlob("old", { digest: b.digest }, streamOf(b.bytes));
    // gc has removed the row and is about to remove the bytes when the push arrives.
    const release = gate();
    const deleting = pauseNext(store.driver, "delete", release.promise);
    const gc = store.deleteBlobIfUnreferenced(b.digest, 0, LATER());
    await deleting;
    const push = store.putBlob("new", { digest: b.digest }, streamOf(b.bytes));
    // Let the push run as far as it can before gc resumes.
    await Bun.sleep(20);
    release.open();
    expect(await gc).toBe(true);
    // Stored again; or, where the push saw the row still there (PostgreSQL reads only what is committed),
    // refused with 503 once gc committed, so the client sends the bytes again. Never a row without bytes.
    const outcome = await failure(push);
    expect(["resolved", "UNAVAILABLE 503"]).toContain(outcome);
    await expectConsistent(store);
    if (outcome !== "resolved") await store.putBlob("new", { digest: b.digest }, streamOf(b.bytes));
    expect(await store.statBlob("new", b.digest)).toBe(b.size);
    expect(await new Response((await store.blob("new", b.digest)).stream()).text()).toBe("shared layer");
    await expectConsistent(store);
  });

  test("the same race through an upload session", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("session layer");
    await store.putBlob("old", { digest: b.digest }, streamOf(b.bytes));
    const session = await store.startUpload("new");
    await store.appendUpload("new", session.id, streamOf(b.bytes));
    const release = gate();
    const deleting = pauseNext(store.driver, "delete", release.promise);
    const gc = store.deleteBlobIfUnreferenced(b.digest, 0, LATER());
    await deleting;
    const finish = store.finishUpload("new", session.id, b.digest);
    await Bun.sleep(20);
    release.open();
    expect(await gc).toBe(true);
    await finish;
    expect(await store.statBlob("new", b.digest)).toBe(b.size);
    await expectConsistent(store);
  });

  test("bytes that stream past while gc removes the stored copy: 503, nothing recorded, a retry stores them", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("fast path layer");
    await store.putBlob("old", { digest: b.digest }, streamOf(b.bytes));
    // The client's copy of a blob the store has is only checked, not written; gc strikes meanwhile.
    const release = gate();
    let started!: () => void;
    const streaming = new Promise<void>((resolve) => (started = resolve));
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        started();
        await release.promise;
        controller.enqueue(b.bytes);
        controller.close();
      },
    });
    // Once the store has found its copy (its last check before draining the client's bytes), gc removes it.
    const found = afterNext(store.driver, "stat");
    const push = store.putBlob("new", { digest: b.digest }, body);
    await Promise.all([streaming, found]);
    expect(await store.deleteBlobIfUnreferenced(b.digest, 0, LATER())).toBe(true);
    release.open();
    expect(await failure(push)).toBe("UNAVAILABLE 503");
    await expectConsistent(store);
    await store.putBlob("new", { digest: b.digest }, streamOf(b.bytes));
    expect(await store.statBlob("new", b.digest)).toBe(b.size);
    await expectConsistent(store);
  });

  test("gc after a fresh link keeps the blob for the grace window", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const b = blob("relinked");
    await store.putBlob("old", { digest: b.digest }, streamOf(b.bytes), );
    const recorded = Date.now();
    await Bun.sleep(5);
    // Pushed again (the fast path links it): the grace window starts over.
    await store.putBlob("new", { digest: b.digest }, streamOf(b.bytes));
    expect(await store.deleteBlobIfUnreferenced(b.digest, 2, recorded + 4)).toBe(false);
    expect(await store.statBlob("new", b.digest)).toBe(b.size);
  });
});

describe("gc deleting a blob while a manifest that needs it is pushed", () => {
  test("the manifest sees the blob gone (MANIFEST_BLOB_UNKNOWN) or keeps it; never a manifest without its blob", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const config = configBlob();
    const layer = blob("layer of a manifest");
    for (const b of [config, layer]) await store.putBlob("app", { digest: b.digest }, streamOf(b.bytes));
    const m = imageManifest(config, [layer]);
    // The manifest has checked its blobs; gc removes one before the manifest is written.
    const release = gate();
    const checked = pauseNext(store.metadata, "presentManifests", release.promise);
    const put = store.putManifest("app", "v1", { bytes: m.bytes, mediaType: MediaType.ociManifest });
    await checked;
    expect(await store.deleteBlobIfUnreferenced(layer.digest, 0, LATER())).toBe(true);
    release.open();
    expect(await failure(put)).toBe("MANIFEST_BLOB_UNKNOWN 400");
    expect(await store.tags("app")).toEqual([]);
    await expectConsistent(store);
    // Once written, the manifest's references keep the blob.
    await store.putBlob("app", { digest: layer.digest }, streamOf(layer.bytes));
    await store.putManifest("app", "v1", { bytes: m.bytes, mediaType: MediaType.ociManifest });
    expect(await store.deleteBlobIfUnreferenced(layer.digest, 0, LATER())).toBe(false);
    await expectConsistent(store);
  });
});
