/**
 * Requests answered while another request's transaction is open, and that
 * transaction then rolls back: what they wrote must stay, and what they
 * read must be what was committed. gc's delete of a blob is the open
 * transaction here: its rows are deleted, it waits in the driver's delete
 * (the test holds it there), and that delete fails, as an object store
 * that is down would make it.
 *
 *   const outcome = await besideRollback(store, { besideCompletes: false });
 */
import type { Store } from "../../../src/store/index.ts";
import { blob, configBlob, imageManifest, streamOf } from "./fixtures.ts";

const DOOMED = "a blob gc fails to delete";

export interface BesideRollbackOutcome {
  /** The requests that were answered while the transaction was still open. */
  answeredWhileOpen: string[];
  /** How the transaction ended. */
  gc: string;
  /** What each request got, and what the store holds once all is done. */
  after: {
    startedUpload: string;
    tags: string[];
    unlinked: number | undefined;
    statBeside: number | undefined;
    statAfter: number | undefined;
  };
}

/**
 * `besideCompletes`: whether the requests beside are expected to be
 * answered while the transaction is open (PostgreSQL, a connection each)
 * or to wait for its end (SQLite, one connection).
 */
export async function besideRollback(store: Store, options: { besideCompletes: boolean }): Promise<BesideRollbackOutcome> {
  const doomed = blob(DOOMED);
  const other = blob("a blob the client unlinks");
  const config = configBlob();
  const layer = blob("layer");
  const image = imageManifest(config, [layer]);
  for (const b of [doomed, other, config, layer]) await store.putBlob("app", { digest: b.digest }, streamOf(b.bytes));
  await store.putManifest("app", "old", { mediaType: image.mediaType, bytes: image.bytes }, { tags: ["kept"] });

  let failDelete!: () => void;
  const deleteFails = new Promise<void>((resolve) => (failDelete = resolve));
  const deleting = replaceNext(store.driver, "delete", async () => {
    await deleteFails;
    throw new Error("the object store is down");
  });
  const gc = store.deleteBlobIfUnreferenced(doomed.digest, 0, Date.now() + 1000).then(
    (deleted) => `resolved ${deleted}`,
    (error: Error) => `failed: ${error.message}`,
  );
  await deleting;

  // The transaction is open now, its deletes not committed. The test goes on once each request below has sent its SQL.
  const answered = new Set<string>();
  const beside = <T>(name: string, method: keyof Store["metadata"] & string, request: () => Promise<T>) => {
    const reached = reachNext(store.metadata, method);
    const promise = request().finally(() => answered.add(name));
    return { reached, promise };
  };
  const started = beside("startUpload", "createUpload", () => store.startUpload("app"));
  const deletedTag = beside("deleteTag", "deleteTag", () => store.deleteTag("app", "old"));
  const unlinked = beside("deleteBlob", "unlinkBlob", () => store.deleteBlob("app", other.digest));
  const stat = beside("statBlob", "linkedBlobSize", () => store.statBlob("app", doomed.digest));
  const requests = [started, deletedTag, unlinked, stat];
  await Promise.all(requests.map((r) => r.reached));
  if (options.besideCompletes) await Promise.allSettled(requests.map((r) => r.promise));
  // SQLite runs a statement as soon as it is sent: a few turns of the event loop are ample to see it answered.
  else for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
  const answeredWhileOpen = [...answered].sort();

  failDelete();
  const gcOutcome = await gc;
  const upload = await started.promise;
  await deletedTag.promise;
  await unlinked.promise;
  const statBeside = await stat.promise;
  return {
    answeredWhileOpen,
    gc: gcOutcome,
    after: {
      startedUpload: await store.uploadStatus("app", upload.id).then(
        (s) => `offset ${s.offset}`,
        (error: Error) => `lost: ${error.message}`,
      ),
      tags: await store.tags("app"),
      unlinked: await store.statBlob("app", other.digest),
      statBeside,
      statAfter: await store.statBlob("app", doomed.digest),
    },
  };
}

/** What `besideRollback` must find: nothing lost, nothing read that was not committed. */
export function expectedBesideRollback(): Omit<BesideRollbackOutcome, "answeredWhileOpen"> {
  const doomedSize = blob(DOOMED).size;
  return {
    gc: "failed: the object store is down",
    after: {
      startedUpload: "offset 0",
      tags: ["kept"],
      unlinked: undefined,
      statBeside: doomedSize,
      statAfter: doomedSize,
    },
  };
}

/** Replace the next call of `object[method]` with `replacement`; resolves when it is called. */
function replaceNext<T extends object>(object: T, method: keyof T & string, replacement: () => Promise<unknown>): Promise<void> {
  const original = object[method];
  return new Promise<void>((reached) => {
    (object as Record<string, unknown>)[method] = () => {
      (object as Record<string, unknown>)[method] = original;
      reached();
      return replacement();
    };
  });
}

/** Resolves when `object[method]` is next called (the call goes on as usual). */
function reachNext<T extends object>(object: T, method: keyof T & string): Promise<void> {
  const original = (object[method] as (...args: unknown[]) => unknown).bind(object);
  return new Promise<void>((reached) => {
    (object as Record<string, unknown>)[method] = (...args: unknown[]) => {
      (object as Record<string, unknown>)[method] = original;
      reached();
      return original(...args);
    };
  });
}
