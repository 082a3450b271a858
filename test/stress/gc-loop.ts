/**
 * A gc loop in a process of its own, as `stevedore gc` runs beside a
 * serving registry: `bun gc-loop.ts ROOT MS` runs gc (no grace window)
 * over and over for MS milliseconds, resting a random 0-40 ms between
 * runs, then prints what it removed as one JSON line.
 */
import { runGc, Store } from "../../src/store/index.ts";

const [root, ms] = process.argv.slice(2);
const store = await Store.open({ root: root! });
const deadline = performance.now() + Number(ms);
const totals = { runs: 0, tags: 0, manifests: 0, blobs: 0, links: 0 };
while (performance.now() < deadline) {
  const report = await runGc(store, { graceMs: 0, deleteUntagged: true });
  totals.runs++;
  totals.tags += report.tags.length;
  totals.manifests += report.manifests.length;
  totals.blobs += report.blobs.count;
  totals.links += report.links;
  await Bun.sleep(Math.random() * 40);
}
await store.close();
console.log(JSON.stringify(totals));
