/** `beforeTransfer`: the caller sees the whole plan before anything moves, and can stop the run. */
import { expect, test } from "bun:test";
import { syncImages } from "../../../src/sync/index.ts";
import { generateRelease } from "../../helpers/images.ts";
import { destination, load, names, source, TracingHome } from "./fixtures.ts";

test("the hook gets the plan before the first write; a rejection ends the run with nothing written", async () => {
  const release = await generateRelease({ layerSize: 1024 });
  const home = new TracingHome("memory:source");
  await load(home, release);
  const dest = new TracingHome("memory:dest");
  let seen: string[] = [];
  await syncImages(source(home, names(release)), destination(dest), {
    beforeTransfer: async (plan) => {
      expect(dest.writes).toEqual([]);
      seen = plan.images.map((i) => `${i.image} ${i.action} ${i.digest}`);
    },
  });
  expect(seen).toEqual(release.map((r) => `${r.name} copy ${r.descriptor.digest}`));
  expect(dest.writes.length).toBeGreaterThan(0);

  const untouched = new TracingHome("memory:untouched");
  const stopped = syncImages(source(home, names(release)), destination(untouched), {
    beforeTransfer: async () => {
      throw new Error("no room for it");
    },
  });
  await expect(stopped).rejects.toThrow("no room for it");
  expect(untouched.writes).toEqual([]);
});
