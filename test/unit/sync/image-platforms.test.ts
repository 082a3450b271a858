/** Platforms chosen per image (an image list that pins them) override the run's `--platform`. */
import { expect, test } from "bun:test";
import { parsePlatform } from "../../../src/oci/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { syncImages } from "../../../src/sync/index.ts";
import type { SourceEndpoint } from "../../../src/transports/endpoint.ts";
import { generateImage, generateIndex } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";
import { destination, load } from "./fixtures.ts";

test("an image's own platforms win over the run's; the others follow the run's", async () => {
  const multi = async (name: string) =>
    generateIndex(
      name,
      await Promise.all(["linux/amd64", "linux/arm64/v8"].map((p) => generateImage({ seed: `${name}/${p}`, platform: parsePlatform(p) }))),
    );
  const a = await multi("docker.io/acme/a:1");
  const b = await multi("docker.io/acme/b:1");
  const home = new MemoryHome("memory:source");
  await load(home, [a, b]);
  const source: SourceEndpoint = {
    home,
    list: async () => [
      { repository: "acme/a", reference: "1", name: parseNormalizedReference("acme/a:1"), platforms: [parsePlatform("linux/arm64")] },
      { repository: "acme/b", reference: "1", name: parseNormalizedReference("acme/b:1") },
    ],
  };
  const dest = new MemoryHome("memory:dest");
  const summary = await syncImages(source, destination(dest), { platforms: [parsePlatform("linux/amd64")] });
  expect(summary.images.synced).toBe(2);
  expect((await dest.resolve("acme/a", "1")).digest).toBe(a.children[1]!.descriptor.digest);
  expect((await dest.resolve("acme/b", "1")).digest).toBe(b.children[0]!.descriptor.digest);
});
