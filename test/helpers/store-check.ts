/**
 * An independent consistency check of an embedded store, through the
 * store's own API only (it does not trust the code under test to judge
 * itself): every recorded blob has bytes of its size that hash to its
 * digest; every manifest's bytes hash to its digest and everything it
 * references is linked into its repository; every tag resolves. Returns the damage found (empty
 * when the store is sound) and a few counts.
 *
 *   const { damage } = await checkStore(root);
 *   expect(damage).toEqual([]);
 */
import { type Digest, digestOf } from "../../src/digest/index.ts";
import { manifestReferences, parseManifest } from "../../src/oci/index.ts";
import { Store } from "../../src/store/index.ts";

export interface StoreCheck {
  damage: string[];
  blobs: number;
  manifests: number;
  tags: number;
  /** Blob files no row records (left by a crash between rename and commit; gc sweeps them). */
  unrecorded: number;
  /** Upload sessions still recorded. */
  uploads: number;
  /**
   * Sessions whose staged bytes are gone: a crash after their blob was
   * renamed into place and before the row that finishes them committed.
   * Nothing is lost (the blob is there); the sweep removes the session.
   */
  orphanSessions: number;
  /** Staged files under uploads/. */
  staged: number;
}

export async function checkStore(root: string, options: { hashBlobs?: boolean } = {}): Promise<StoreCheck> {
  const store = await Store.open({ root });
  try {
    return await checkOpenStore(store, options);
  } finally {
    await store.close();
  }
}

export async function checkOpenStore(store: Store, options: { hashBlobs?: boolean } = {}): Promise<StoreCheck> {
  const damage: string[] = [];
  const recorded = new Set<string>();
  let blobs = 0;
  for await (const row of store.allBlobs()) {
    blobs++;
    recorded.add(row.digest);
    const stat = await store.driver.stat(row.digest);
    if (!stat) {
      damage.push(`blob ${row.digest}: recorded, but its bytes are missing`);
      continue;
    }
    if (stat.size !== row.size) {
      damage.push(`blob ${row.digest}: recorded as ${row.size} bytes, the file has ${stat.size}`);
      continue;
    }
    if (options.hashBlobs ?? true) {
      const hasher = new Bun.CryptoHasher("sha256");
      for await (const chunk of store.driver.open(row.digest, row.size).stream()) hasher.update(chunk);
      const actual = `sha256:${hasher.digest("hex")}`;
      if (actual !== row.digest) damage.push(`blob ${row.digest}: its bytes hash to ${actual}`);
    }
  }
  let unrecorded = 0;
  for await (const file of store.driver.list()) if (!recorded.has(file.digest)) unrecorded++;

  let manifests = 0;
  for await (const row of store.allManifests()) {
    manifests++;
    const where = `manifest ${row.repository}@${row.digest}`;
    let content;
    try {
      content = await store.manifest(row.repository, row.digest);
    } catch (error) {
      damage.push(`${where}: cannot be read: ${(error as Error).message}`);
      continue;
    }
    const actual = digestOf(content.bytes);
    if (actual !== row.digest) {
      damage.push(`${where}: its bytes hash to ${actual}`);
      continue;
    }
    const refs = manifestReferences(parseManifest(content.bytes, content.mediaType));
    for (const blob of refs.blobs) {
      const size = await store.statBlob(row.repository, blob.digest);
      if (size === undefined) damage.push(`${where}: references blob ${blob.digest}, not linked into the repository`);
      else if (size !== blob.size) damage.push(`${where}: blob ${blob.digest} is ${size} bytes, the manifest says ${blob.size}`);
    }
    for (const child of refs.manifests) {
      if (!(await store.hasManifest(row.repository, child.digest as Digest))) damage.push(`${where}: child manifest ${child.digest} is missing`);
    }
  }

  let tags = 0;
  for (const repository of await store.repositories()) {
    for (const tag of await store.tags(repository).catch(() => [] as string[])) {
      tags++;
      try {
        const descriptor = await store.resolve(repository, tag);
        if (!(await store.hasManifest(repository, descriptor.digest))) damage.push(`tag ${repository}:${tag}: points at a missing manifest`);
      } catch (error) {
        damage.push(`tag ${repository}:${tag}: does not resolve: ${(error as Error).message}`);
      }
    }
  }

  const sessions = await store.metadata.staleUploads(Number.MAX_SAFE_INTEGER);
  let orphanSessions = 0;
  for (const id of sessions) if ((await store.driver.stagedSize(id)) === undefined) orphanSessions++;
  let staged = 0;
  for await (const _ of store.driver.listStaged()) staged++;
  return { damage, blobs, manifests, tags, unrecorded, uploads: sessions.length, orphanSessions, staged };
}
