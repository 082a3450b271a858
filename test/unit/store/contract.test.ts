/** The shared home contract, run against the embedded store (which keeps blobs per repository). */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../../src/store/index.ts";
import { runHomeContract } from "../../helpers/home-contract.ts";

runHomeContract(
  "store",
  async () => {
    const root = await mkdtemp(join(tmpdir(), "stevedore-store-"));
    let store = await Store.open({ root });
    return {
      home: store,
      reopen: async () => {
        await store.close();
        store = await Store.open({ root });
        return store;
      },
      cleanup: async () => {
        await store.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  },
  { strictManifests: true, isolatedBlobs: true },
);
