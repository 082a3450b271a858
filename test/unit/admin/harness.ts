/** The admin API over a fresh store, beside a registry app on the same store; both driven in-process. */
import { type Admin, createAdmin, type GcRunner, type Importer } from "../../../src/admin/index.ts";
import { createRegistryApp } from "../../../src/registry/index.ts";
import { PullRecorder, Store } from "../../../src/store/index.ts";
import { tempDir } from "../store/fixtures.ts";

export const TOKEN = "test-token-0123456789abcdef";

export interface Harness {
  root: string;
  store: Store;
  admin: Admin;
  pulls: PullRecorder;
  /** The registry app (for pushes and pulls that feed metrics and pull times). */
  registry: (path: string, init?: RequestInit) => Promise<Response>;
  /** An admin API request with the right token (or `token`). */
  api: (method: string, path: string, body?: unknown, token?: string | null) => Promise<Response>;
  [Symbol.asyncDispose](): Promise<void>;
}

export async function adminHarness(options: { runGc?: GcRunner; importer?: Importer } = {}): Promise<Harness> {
  const dir = await tempDir("stevedore-admin-");
  const store = await Store.open({ root: dir.path });
  const pulls = new PullRecorder(store.metadata, { intervalMs: 3_600_000 });
  const admin = createAdmin({ store, token: TOKEN, version: "test", ...options });
  const registryApp = createRegistryApp(store, { observer: admin.metrics.observeRequest, onPull: (r, d) => pulls.record(r, d) });
  return {
    root: dir.path,
    store,
    admin,
    pulls,
    registry: async (path, init = {}) => registryApp.request(path, init),
    api: async (method, path, body, token = TOKEN) => {
      const headers: Record<string, string> = {};
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return admin.app.request(path, { method, headers, ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}) });
    },
    async [Symbol.asyncDispose]() {
      await admin.close();
      await pulls.close();
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

export async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code ?? "(none)", message: body.error?.message ?? "" };
}
