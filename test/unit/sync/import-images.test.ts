/** importImages: a layout on disk into a home the caller holds, with events and cancellation. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importImages, type SyncEvent } from "../../../src/sync/index.ts";
import { generateRelease, writeOciLayout } from "../../helpers/images.ts";
import { MemoryHome } from "../../helpers/memory-home.ts";

const dir = mkdtempSync(join(tmpdir(), "import-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("imports every image of a layout under its path (and a prefix), reporting events", async () => {
  const release = await generateRelease();
  await writeOciLayout(join(dir, "a"), release);
  const home = new MemoryHome();
  const events: SyncEvent[] = [];
  const summary = await importImages(`oci:${join(dir, "a")}`, home, { prefix: "site", onEvent: (e) => void events.push(e) });
  expect(summary.images).toMatchObject({ synced: release.length, failed: 0 });
  expect((await home.resolve("site/acme/app-0", "1.0")).digest).toBe(release[0]!.descriptor.digest);
  expect(events.at(-1)).toEqual({ type: "done", summary });
});

test("a cancelled import writes nothing more and says so", async () => {
  const release = await generateRelease({ seed: "cancel" });
  await writeOciLayout(join(dir, "b"), release);
  const stop = new AbortController();
  stop.abort(new Error("cancelled by the operator"));
  const home = new MemoryHome();
  const summary = await importImages(`oci:${join(dir, "b")}`, home, { signal: stop.signal });
  expect(summary).toMatchObject({ interrupted: true, images: { synced: 0, cancelled: release.length } });
  expect(home.repos.size).toBe(0);
});

test("a source that cannot be opened is an error", async () => {
  await expect(importImages(`oci:${join(dir, "missing")}`, new MemoryHome())).rejects.toThrow("missing");
});
