/** The home contract against the docker:// home and a real CNCF registry (a fresh one per case). */
import { openRegistry } from "../../../src/transports/remote/index.ts";
import { startDockerRegistry } from "../../helpers/docker-registry.ts";
import { runHomeContract } from "../../helpers/home-contract.ts";

runHomeContract(
  "docker:// (CNCF distribution)",
  async () => {
    const registry = await startDockerRegistry();
    const home = openRegistry(registry.host, { certDirs: [], env: {} });
    return {
      home,
      reopen: async () => openRegistry(registry.host, { certDirs: [], env: {} }),
      cleanup: async () => {
        await home.close();
        await registry.stop();
      },
    };
  },
  {
    isolatedBlobs: true,
    // distribution 2.8 has no referrers API and cannot delete tags.
    unsupported: ["referrers", "deletes"],
  },
);
