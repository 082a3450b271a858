/** gc on a real store: what goes, what stays, and what a dry run would do. */
import { describe, expect, test } from "bun:test";
import { readdir, stat, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "../../../src/digest/index.ts";
import { EMPTY_JSON, MediaType } from "../../../src/oci/index.ts";
import { blobPath, GcError, type GcOptions, type KeepEntry, runGc, Store } from "../../../src/store/index.ts";
import { blob, configBlob, imageIndex, imageManifest, manifestOf, streamOf, tempDir, type TestBlob, type TestManifest } from "./fixtures.ts";

const HOUR = 3_600_000;
/** Everything pushed in a test is this old by gc's clock, unless a test says otherwise. */
const later = () => Date.now() + 2 * HOUR;

async function openStore(root: string) {
  const store = await Store.open({ root });
  return Object.assign(store, { [Symbol.asyncDispose]: () => store.close() });
}

async function pushImage(store: Store, repository: string, tag: string | undefined, blobs: TestBlob[], manifest: TestManifest) {
  for (const b of blobs) await store.putBlob(repository, { digest: b.digest, size: b.size }, streamOf(b.bytes));
  await store.putManifest(repository, tag ?? manifest.digest, { bytes: manifest.bytes, mediaType: manifest.mediaType });
}

function image(name: string, layers: TestBlob[]) {
  const config = configBlob(`linux/${name}`);
  return { config, layers, blobs: [config, ...layers], manifest: imageManifest(config, layers) };
}

const keep = (repository: string, tag: string, origin = "keep.txt:1"): KeepEntry => ({
  repositories: [repository],
  tag,
  name: `${repository}:${tag}`,
  origin,
});

async function present(store: Store, digest: Digest): Promise<boolean> {
  return (await store.driver.stat(digest)) !== undefined && (await store.metadata.blobSize(digest)) !== undefined;
}

/** Every file under the store root with its size, and every row of every table: what a dry run must not change. */
async function snapshot(store: Store): Promise<unknown> {
  const root = store.root!;
  const files: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith("metadata.db")) continue;
    const path = join(entry.parentPath, entry.name);
    files.push(`${path.slice(root.length)} ${(await stat(path)).size}`);
  }
  const tables: Record<string, unknown> = {};
  const m = store.metadata.maintenance;
  tables.tags = await Array.fromAsync(m.tags());
  tables.manifests = await Array.fromAsync(m.manifests());
  tables.edges = await Array.fromAsync(m.childEdges());
  tables.blobs = await m.blobs("", 100_000);
  tables.repositories = await store.repositories();
  return { files: files.sort(), tables };
}

/** Two releases of two repositories sharing a base layer. */
async function releases(store: Store) {
  const base = blob("base layer");
  const v1 = image("v1", [base, blob("app v1")]);
  const v2 = image("v2", [base, blob("app v2")]);
  const db = image("db", [base, blob("db layer")]);
  await pushImage(store, "acme/app", "1.0", v1.blobs, v1.manifest);
  await pushImage(store, "acme/app", "2.0", v2.blobs, v2.manifest);
  await pushImage(store, "acme/db", "5", db.blobs, db.manifest);
  return { base, v1, v2, db };
}

describe("gc without keep lists", () => {
  test("sweeps only blobs no manifest references, once past the grace window", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { base, v1 } = await releases(store);
    const stray = blob("pushed, never used");
    await store.putBlob("acme/app", { digest: stray.digest }, streamOf(stray.bytes));

    const early = await runGc(store, { graceMs: HOUR });
    expect(early.blobs.count).toBe(0);
    expect(early.kept.blobs).toBe(8);

    const report = await runGc(store, { graceMs: HOUR, now: later() });
    expect(report).toMatchObject({
      dryRun: false,
      interrupted: false,
      tags: [],
      manifests: [],
      links: 1,
      blobs: { count: 1, bytes: stray.size, digests: [stray.digest] },
      repositories: [],
      bytesFreed: stray.size,
      kept: { tags: 3, manifests: 3, blobs: 7 },
      skipped: { tags: 0, manifests: 0, blobs: 0 },
      warnings: [],
    });
    expect(await present(store, stray.digest)).toBe(false);
    for (const b of [base, ...v1.blobs]) expect(await present(store, b.digest)).toBe(true);
  });

  test("untagged manifests stay unless --delete-untagged; an index's children and referrers count as tagged", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const amd = image("amd64", [blob("amd layer")]);
    const arm = image("arm64", [blob("arm layer")]);
    for (const i of [amd, arm]) await pushImage(store, "multi", undefined, i.blobs, i.manifest);
    const index = imageIndex([amd.manifest, arm.manifest]);
    await store.putManifest("multi", "1", { bytes: index.bytes, mediaType: index.mediaType });
    const sigBlob = blob("signature", "application/vnd.dev.sigstore.bundle+json");
    const signature = manifestOf(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: "application/vnd.dev.sigstore.bundle+json",
        config: EMPTY_JSON,
        layers: [{ mediaType: sigBlob.mediaType, digest: sigBlob.digest, size: sigBlob.size }],
        subject: { mediaType: index.mediaType, digest: index.digest, size: index.size },
      },
      MediaType.ociManifest,
    );
    const empty = blob("{}", MediaType.ociEmpty);
    await pushImage(store, "multi", undefined, [empty, sigBlob], signature);
    const orphan = image("orphan", [blob("orphan layer")]);
    await pushImage(store, "multi", undefined, orphan.blobs, orphan.manifest);

    const kept = await runGc(store, { graceMs: HOUR, now: later() });
    expect(kept.manifests).toEqual([]);
    const removed = await runGc(store, { graceMs: HOUR, now: later(), deleteUntagged: true });
    expect(removed.manifests.map((m) => m.digest)).toEqual([orphan.manifest.digest]);
    expect(removed.blobs.digests.sort()).toEqual(orphan.blobs.map((b) => b.digest).sort());
    expect(await store.hasManifest("multi", signature.digest)).toBe(true);
    expect(await store.hasManifest("multi", amd.manifest.digest)).toBe(true);
  });
});

describe("gc with keep lists", () => {
  test("removes every tag not kept, the manifests only they reached, and the blobs only those used", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { base, v1, v2, db } = await releases(store);
    const report = await runGc(store, { keep: [keep("acme/app", "2.0")], graceMs: HOUR, now: later() });
    expect(report.tags.map((t) => `${t.repository}:${t.tag}`).sort()).toEqual(["acme/app:1.0", "acme/db:5"]);
    expect(report.manifests.map((m) => m.digest).sort()).toEqual([v1.manifest.digest, db.manifest.digest].sort());
    const gone = [v1.config, v1.layers[1]!, db.config, db.layers[1]!];
    expect(report.blobs.digests.sort()).toEqual(gone.map((b) => b.digest).sort());
    expect(report.bytesFreed).toBe(gone.reduce((s, b) => s + b.size, 0));
    expect(report.repositories).toEqual(["acme/db"]);
    expect(await store.repositories()).toEqual(["acme/app"]);
    for (const b of gone) expect(await present(store, b.digest)).toBe(false);
    for (const b of [base, ...v2.blobs]) expect(await present(store, b.digest)).toBe(true);
    expect(await store.tags("acme/app")).toEqual(["2.0"]);
    // The kept image reads back whole.
    const m = await store.manifest("acme/app", "2.0");
    expect(m.digest).toBe(v2.manifest.digest);
  });

  test("a kept index keeps its children and their referrers; a removed one takes them along", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const children = ["amd64", "arm64"].map((p) => image(p, [blob(`${p} layer`)]));
    for (const c of children) await pushImage(store, "multi", undefined, c.blobs, c.manifest);
    const index = imageIndex(children.map((c) => c.manifest));
    await store.putManifest("multi", "1", { bytes: index.bytes, mediaType: index.mediaType });
    const other = image("other", [blob("other layer")]);
    await pushImage(store, "multi", "2", other.blobs, other.manifest);

    const report = await runGc(store, { keep: [keep("multi", "2")], graceMs: HOUR, now: later() });
    // The index goes before its children (a child is removable only once nothing references it).
    expect(report.manifests.map((m) => m.digest)).toEqual([index.digest, ...children.map((c) => c.manifest.digest).sort()]);
    expect(report.skipped.manifests).toBe(0);
    expect(report.blobs.count).toBe(4);
  });

  test("digest entries keep a manifest; unknown entries warn and keep nothing more", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { v1, v2 } = await releases(store);
    const report = await runGc(store, {
      keep: [
        { repositories: ["acme/app"], digest: v1.manifest.digest, name: `acme/app@${v1.manifest.digest}`, origin: "keep.txt:1" },
        keep("acme/app", "9.9", "keep.txt:2"),
        keep("acme/nothing", "1", "keep.txt:3"),
      ],
      graceMs: HOUR,
      now: later(),
    });
    expect(report.warnings).toEqual([
      "keep.txt:2: acme/app:9.9 is not in the store; nothing is kept for it",
      "keep.txt:3: acme/nothing:1 is not in the store; nothing is kept for it",
    ]);
    expect(report.tags.length).toBe(3);
    expect(await store.hasManifest("acme/app", v1.manifest.digest)).toBe(true);
    expect(await store.hasManifest("acme/app", v2.manifest.digest)).toBe(false);
  });

  test("keep lists that match nothing are refused (nothing changes) unless forced", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await releases(store);
    const before = await snapshot(store);
    for (const options of [{ keep: [keep("acme/typo", "1.0")] }, { keep: [] }] as GcOptions[]) {
      const error = await runGc(store, { ...options, graceMs: HOUR, now: later() }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GcError);
      expect((error as Error).message).toMatch(/nothing was removed/);
      expect(await snapshot(store)).toEqual(before);
    }
    const forced = await runGc(store, { keep: [keep("acme/typo", "1.0")], force: true, graceMs: HOUR, now: later() });
    expect(forced.tags.length).toBe(3);
    expect(await store.repositories()).toEqual([]);
    const files = (await readdir(join(dir.path, "blobs"), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files).toEqual([]);
  });

  test("a dry run reports what a real run removes, and changes nothing", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await releases(store);
    const options: GcOptions = { keep: [keep("acme/app", "2.0")], graceMs: HOUR, now: later() };
    const before = await snapshot(store);
    const dry = await runGc(store, { ...options, dryRun: true });
    expect(await snapshot(store)).toEqual(before);
    const real = await runGc(store, options);
    expect({ ...dry, dryRun: false, durationMs: 0 }).toEqual({ ...real, durationMs: 0 });
    expect(real.tags.length).toBe(2);
  });

  test("what was pushed, tagged or linked within the grace window stays", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { v1 } = await releases(store);
    const report = await runGc(store, { keep: [keep("acme/app", "2.0")], graceMs: HOUR });
    expect(report.tags).toEqual([]);
    expect(report.manifests).toEqual([]);
    expect(report.blobs.count).toBe(0);
    expect(await present(store, v1.layers[1]!.digest)).toBe(true);
  });

  test("a tag moved while gc runs stays (the delete re-checks it)", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const { v1, v2 } = await releases(store);
    const sql = store.metadata.maintenance;
    const original = sql.deleteTagIf.bind(sql);
    sql.deleteTagIf = async (t) => {
      // A client re-tags 1.0 between gc's listing and its delete.
      if (t.name === "1.0") await store.putManifest("acme/app", "1.0", { bytes: v2.manifest.bytes, mediaType: v2.manifest.mediaType });
      return original(t);
    };
    const report = await runGc(store, { keep: [keep("acme/app", "2.0")], graceMs: 0, now: Date.now() + 1000 });
    expect(report.skipped.tags).toBe(1);
    expect(await store.tags("acme/app")).toEqual(["1.0", "2.0"]);
    expect((await store.resolve("acme/app", "1.0")).digest).toBe(v2.manifest.digest);
    expect(await store.hasManifest("acme/app", v1.manifest.digest)).toBe(false);
  });
});

describe("retention rules", () => {
  async function tagged(store: Store, repository: string, tags: string[]) {
    const out = new Map<string, Digest>();
    for (const t of tags) {
      const i = image(`${repository}-${t}`, [blob(`${repository} ${t}`)]);
      await pushImage(store, repository, t, i.blobs, i.manifest);
      out.set(t, i.manifest.digest);
      await Bun.sleep(2); // distinct push times
    }
    return out;
  }

  test("keep the N most recent tags matching a pattern; other tags are left alone", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await tagged(store, "app", ["v1", "v2", "v3", "v4", "dev"]);
    await tagged(store, "db", ["v1", "v2"]);
    const report = await runGc(store, { retention: { keepRecent: 2, tagPattern: /v\d+/ }, graceMs: HOUR, now: later() });
    expect(report.tags.map((t) => `${t.repository}:${t.tag}`).sort()).toEqual(["app:v1", "app:v2"]);
    expect(await store.tags("app")).toEqual(["dev", "v3", "v4"]);
    expect(await store.tags("db")).toEqual(["v1", "v2"]);
  });

  test("keep tags pushed or pulled within a window", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const digests = await tagged(store, "app", ["old", "pulled"]);
    // Within the window of their push, both stay.
    expect((await runGc(store, { retention: { keepWithinMs: HOUR }, graceMs: 0, now: Date.now() + HOUR / 2 })).tags).toEqual([]);
    // Two hours on, only the one pulled half an hour ago does.
    const now = later();
    await store.metadata.recordPulls([{ repository: "app", digest: digests.get("pulled")!, at: now - HOUR / 2 }]);
    const report = await runGc(store, { retention: { keepWithinMs: HOUR }, graceMs: 0, now });
    expect(report.tags.map((t) => t.tag)).toEqual(["old"]);
    expect(await store.tags("app")).toEqual(["pulled"]);
  });

  test("with a keep list, retention keeps more", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await tagged(store, "app", ["v1", "v2", "v3"]);
    const report = await runGc(store, { keep: [keep("app", "v1")], retention: { keepRecent: 1 }, graceMs: HOUR, now: later() });
    expect(report.tags.map((t) => t.tag)).toEqual(["v2"]);
  });
});

describe("bytes without rows", () => {
  test("old debris goes, fresh bytes stay (a push may be about to record them)", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    const old = blob("crash debris");
    const fresh = blob("being recorded");
    for (const b of [old, fresh]) {
      const id = crypto.randomUUID();
      await store.driver.createStaged(id);
      await store.driver.writeStaged(id, 0, streamOf(b.bytes));
      await store.driver.commitStaged(id, b.digest, b.size);
    }
    const past = new Date(Date.now() - 2 * HOUR);
    await utimes(blobPath(dir.path, old.digest), past, past);
    const dry = await runGc(store, { graceMs: 0, dryRun: true });
    expect(dry.unrecorded).toEqual({ count: 1, bytes: old.size });
    expect(await store.driver.stat(old.digest)).toBeDefined();
    const report = await runGc(store, { graceMs: 0 });
    expect(report.unrecorded).toEqual({ count: 1, bytes: old.size });
    expect(report.bytesFreed).toBe(old.size);
    expect(await store.driver.stat(old.digest)).toBeUndefined();
    expect(await store.driver.stat(fresh.digest)).toBeDefined();
  });
});

describe("interruption", () => {
  test("an aborted run stops between items and says so", async () => {
    await using dir = await tempDir();
    await using store = await openStore(dir.path);
    await releases(store);
    const controller = new AbortController();
    const report = await runGc(
      store,
      {
        keep: [keep("acme/app", "2.0")],
        graceMs: HOUR,
        now: later(),
        onProgress: (e) => {
          if (e.phase === "mark" && e.total !== undefined) controller.abort();
        },
      },
      controller.signal,
    );
    expect(report.interrupted).toBe(true);
    expect(report.tags).toEqual([]);
    expect(await store.tags("acme/db")).toEqual(["5"]);
  });
});
