/** A registry app over a fresh store in a temp dir, driven in-process. */
import { createRegistryApp, type RegistryAppOptions } from "../../../src/registry/index.ts";
import { openTestStore } from "../../helpers/test-store.ts";
import { tempDir, type TestBlob, type TestManifest } from "../store/fixtures.ts";

export async function registry(options: RegistryAppOptions = {}) {
  const dir = await tempDir();
  const store = await openTestStore(dir.path);
  const app = createRegistryApp(store, options);
  const request = async (path: string, init: RequestInit = {}): Promise<Response> => app.request(path, init);
  return {
    dir,
    store,
    app,
    request,
    async pushBlob(repo: string, b: TestBlob) {
      const res = await request(`/v2/${repo}/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
      if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
    },
    async pushManifest(repo: string, reference: string, m: TestManifest) {
      const res = await request(`/v2/${repo}/manifests/${reference}`, {
        method: "PUT",
        body: m.bytes,
        headers: { "Content-Type": m.mediaType },
      });
      if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
      return res;
    },
    /** Ids of staged uploads the blob driver holds (files on disk, or objects in a bucket). */
    async staged(): Promise<string[]> {
      const ids: string[] = [];
      for await (const s of store.driver.listStaged()) ids.push(s.id);
      return ids;
    },
    async [Symbol.asyncDispose]() {
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** The error code of a JSON error envelope. */
export async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as { errors?: { code: string }[] };
  return body.errors?.[0]?.code ?? "(none)";
}
