/**
 * A full disk, injected: the blob driver fails its writes with ENOSPC
 * part-way through a body, or the metadata database answers SQLITE_FULL.
 * Every upload style and the manifest PUT then get 507 with a message
 * that says so (not a bare 500), nothing half-written becomes visible,
 * an upload session keeps its offset, and once space returns the same
 * pushes go through. (test/stress/disk-full.test.ts does it on a real,
 * size-limited filesystem.)
 */
import { describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { createRegistryApp } from "../../../src/registry/index.ts";
import { type BlobDriver, FilesystemDriver, Store } from "../../../src/store/index.ts";
import { blob, configBlob, imageManifest, tempDir, type TestBlob } from "../store/fixtures.ts";

function enospc(): Error {
  return Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28 });
}

function sqliteFull(): Error {
  return Object.assign(new Error("database or disk is full"), { name: "SQLiteError", code: "SQLITE_FULL", errno: 13 });
}

/** The filesystem driver, with a switch that makes every write run out of space after `allowed` bytes. */
function fillableDriver(driver: FilesystemDriver) {
  const state = { full: false, allowed: 100 };
  const cut = (body: ReadableStream<Uint8Array>) => {
    let seen = 0;
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          if (seen + chunk.byteLength > state.allowed) {
            controller.enqueue(chunk.subarray(0, Math.max(0, state.allowed - seen)));
            controller.error(enospc());
            return;
          }
          seen += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
  };
  const proxy = new Proxy(driver, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      if (property === "writeStaged") {
        return (id: string, offset: number, body: ReadableStream<Uint8Array>) => target.writeStaged(id, offset, state.full ? cut(body) : body);
      }
      if (property === "commitStaged" || property === "createStaged") {
        return async (...args: unknown[]) => {
          if (state.full && property === "commitStaged") throw enospc();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return value.bind(target);
    },
  }) as BlobDriver;
  return { driver: proxy, state };
}

async function setup() {
  const dir = await tempDir();
  const fs = await FilesystemDriver.open(dir.path);
  const { driver, state } = fillableDriver(fs);
  const store = await Store.open({ root: dir.path, driver });
  const app = createRegistryApp(store);
  return {
    root: dir.path,
    store,
    state,
    request: (path: string, init: RequestInit = {}) => app.request(path, init),
    async [Symbol.asyncDispose]() {
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

async function errorOf(res: Response) {
  const body = (await res.json()) as { errors: { code: string; message: string }[] };
  return { status: res.status, code: body.errors[0]!.code, message: body.errors[0]!.message };
}

const DISK_FULL = { status: 507, code: "UNAVAILABLE", message: "the store's disk is full" };

/** Files under blobs/ (committed content). */
async function blobFiles(root: string): Promise<string[]> {
  return (await readdir(join(root, "blobs"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

async function stagedSizes(root: string): Promise<number[]> {
  const out: number[] = [];
  for (const name of await readdir(join(root, "uploads"))) out.push(Bun.file(join(root, "uploads", name)).size);
  return out;
}

function big(seed: string): TestBlob {
  const bytes = new Uint8Array(300_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + seed.length * 7 + seed.charCodeAt(0)) & 0xff;
  return blob(bytes);
}

describe("disk full (injected)", () => {
  test("monolithic, POST+PUT and chunked pushes get 507 saying so; nothing becomes visible; space back, they succeed", async () => {
    await using r = await setup();
    const b = big("a");
    r.state.full = true;

    const monolithic = await r.request(`/v2/full/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
    expect(await errorOf(monolithic)).toEqual(DISK_FULL);

    const start = await r.request("/v2/full/app/blobs/uploads/", { method: "POST" });
    expect(start.status).toBe(202);
    const location = start.headers.get("location")!;
    const put = await r.request(`${location}?digest=${b.digest}`, { method: "PUT", body: b.bytes });
    expect(await errorOf(put)).toEqual(DISK_FULL);

    const session = await r.request("/v2/full/app/blobs/uploads/", { method: "POST" });
    const chunked = session.headers.get("location")!;
    r.state.full = false;
    const first = await r.request(chunked, { method: "PATCH", body: b.bytes.subarray(0, 1000), headers: { "Content-Range": "0-999" } });
    expect(first.status).toBe(202);
    r.state.full = true;
    const second = await r.request(chunked, { method: "PATCH", body: b.bytes.subarray(1000), headers: { "Content-Range": `1000-${b.size - 1}` } });
    expect(await errorOf(second)).toEqual(DISK_FULL);
    // The session still stands where it stood: the failed chunk left nothing behind.
    const status = await r.request(chunked);
    expect([status.status, status.headers.get("range")]).toEqual([204, "0-999"]);

    // Nothing half-written is visible, on the API or on disk.
    expect((await r.request(`/v2/full/app/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(404);
    expect(await blobFiles(r.root)).toEqual([]);
    expect((await stagedSizes(r.root)).sort((x, y) => x - y)).toEqual([0, 1000]);

    // Space returns: the interrupted session resumes, and a fresh push works.
    r.state.full = false;
    const resumed = await r.request(`${chunked}?digest=${b.digest}`, {
      method: "PUT",
      body: b.bytes.subarray(1000),
      headers: { "Content-Range": `1000-${b.size - 1}` },
    });
    expect(resumed.status).toBe(201);
    const pulled = await r.request(`/v2/full/app/blobs/${b.digest}`);
    expect(Buffer.from(await pulled.arrayBuffer()).equals(Buffer.from(b.bytes))).toBe(true);
    const again = await r.request(`/v2/full/other/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
    expect(again.status).toBe(201);
  });

  test("bytes fit but renaming them into place fails: 507, the staged bytes are dropped", async () => {
    await using r = await setup();
    const b = big("b");
    r.state.full = true;
    r.state.allowed = Number.MAX_SAFE_INTEGER; // the write succeeds, the commit does not
    const res = await r.request(`/v2/full/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
    expect(await errorOf(res)).toEqual(DISK_FULL);
    expect(await blobFiles(r.root)).toEqual([]);
    expect(await stagedSizes(r.root)).toEqual([]);
  });

  test("the metadata database is full: blob and manifest pushes get 507; nothing is recorded; later they succeed", async () => {
    await using r = await setup();
    const config = configBlob();
    const layer = blob("a layer");
    const manifest = imageManifest(config, [layer]);
    const metadata = r.store.metadata;
    const originals = { recordBlob: metadata.recordBlob, createUpload: metadata.createUpload, putManifest: metadata.putManifest };
    const fail = async () => {
      throw sqliteFull();
    };
    Object.assign(metadata, { recordBlob: fail, createUpload: fail });

    const blobPush = await r.request(`/v2/full/app/blobs/uploads/?digest=${layer.digest}`, { method: "POST", body: layer.bytes });
    expect(await errorOf(blobPush)).toEqual(DISK_FULL);
    const session = await r.request("/v2/full/app/blobs/uploads/", { method: "POST" });
    expect(await errorOf(session)).toEqual(DISK_FULL);
    expect((await r.request(`/v2/full/app/blobs/${layer.digest}`, { method: "HEAD" })).status).toBe(404);

    Object.assign(metadata, { recordBlob: originals.recordBlob, createUpload: originals.createUpload });
    for (const b of [config, layer]) {
      expect((await r.request(`/v2/full/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes })).status).toBe(201);
    }
    Object.assign(metadata, { putManifest: fail });
    const manifestPush = await r.request("/v2/full/app/manifests/1.0", {
      method: "PUT",
      body: manifest.bytes,
      headers: { "Content-Type": manifest.mediaType },
    });
    expect(await errorOf(manifestPush)).toEqual(DISK_FULL);
    expect((await r.request("/v2/full/app/manifests/1.0", { method: "HEAD" })).status).toBe(404);
    Object.assign(metadata, { putManifest: originals.putManifest });
    const ok = await r.request("/v2/full/app/manifests/1.0", { method: "PUT", body: manifest.bytes, headers: { "Content-Type": manifest.mediaType } });
    expect(ok.status).toBe(201);
  });
});
