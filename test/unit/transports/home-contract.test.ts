/** The home contract, run against every home that lives in this process. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OciLayoutHome } from "../../../src/transports/layout/oci-layout-home.ts";
import { OciArchiveReader } from "../../../src/transports/oci-archive/oci-archive-reader.ts";
import { OciArchiveWriter } from "../../../src/transports/oci-archive/oci-archive-writer.ts";
import { runHomeContract } from "../../helpers/home-contract.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "stevedore-contract-"));
}

runHomeContract("MemoryHome", async () => ({ home: new MemoryHome() }), { isolatedBlobs: true });

runHomeContract("oci: layout directory", async () => {
  const dir = await tempDir();
  const layout = join(dir, "layout");
  return {
    home: await OciLayoutHome.open(layout, { create: true }),
    reopen: () => OciLayoutHome.open(layout),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

runHomeContract("oci-archive: written, then read back", async () => {
  const dir = await tempDir();
  const file = join(dir, "bundle.tar");
  const home = await OciArchiveWriter.open(file);
  return {
    home,
    reopen: async () => {
      await home.close();
      return OciArchiveReader.open(file);
    },
    cleanup: async () => {
      await home.discard();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
