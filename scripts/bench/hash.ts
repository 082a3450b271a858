/**
 * Hashing throughput: 1 GiB of chunks through DigestHasher, and through
 * verifyStream between a ReadableStream and a reader, against raw
 * Bun.CryptoHasher and node:crypto as the ceiling.
 *
 *   bun scripts/bench/hash.ts [--size-mib 1024] [--chunk-kib 64,1024] [--json]
 */
import { createHash, randomFillSync } from "node:crypto";
import { parseArgs } from "node:util";
import { DigestHasher, type Digest, verifyStream } from "../../src/digest/index.ts";

const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    "chunk-kib": { type: "string", default: "64,1024" },
    json: { type: "boolean", default: false },
  },
});
const total = Number(values["size-mib"]) * 1024 * 1024;

interface Result {
  name: string;
  chunkKiB: number;
  seconds: number;
  mbPerSecond: number;
}

/** One chunk reused: the bench measures hashing, not filling memory. */
function chunkOf(bytes: number): Uint8Array {
  return randomFillSync(new Uint8Array(bytes));
}

async function time(name: string, chunkKiB: number, run: () => Promise<unknown> | unknown): Promise<Result> {
  const started = performance.now();
  await run();
  const seconds = (performance.now() - started) / 1000;
  return { name, chunkKiB, seconds, mbPerSecond: total / 1e6 / seconds };
}

const results: Result[] = [];
for (const chunkKiB of values["chunk-kib"].split(",").map(Number)) {
  const chunk = chunkOf(chunkKiB * 1024);
  const count = Math.floor(total / chunk.byteLength);

  results.push(
    await time("Bun.CryptoHasher", chunkKiB, () => {
      const h = new Bun.CryptoHasher("sha256");
      for (let i = 0; i < count; i++) h.update(chunk);
      return h.digest("hex");
    }),
  );
  results.push(
    await time("node:crypto", chunkKiB, () => {
      const h = createHash("sha256");
      for (let i = 0; i < count; i++) h.update(chunk);
      return h.digest("hex");
    }),
  );

  let expected: Digest | undefined;
  results.push(
    await time("DigestHasher", chunkKiB, () => {
      const h = new DigestHasher();
      for (let i = 0; i < count; i++) h.update(chunk);
      expected = h.digest();
    }),
  );

  results.push(
    await time("verifyStream", chunkKiB, async () => {
      let sent = 0;
      const source = new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            if (sent++ === count) controller.close();
            else controller.enqueue(chunk);
          },
        },
        { highWaterMark: 0 },
      );
      let received = 0;
      for await (const c of source.pipeThrough(verifyStream({ digest: expected!, size: count * chunk.byteLength }))) {
        received += c.byteLength;
      }
      if (received !== count * chunk.byteLength) throw new Error(`received ${received} bytes`);
    }),
  );
}

if (values.json) {
  for (const r of results) console.log(JSON.stringify(r));
} else {
  console.log(`sha256 over ${values["size-mib"]} MiB (MB/s = 10^6 bytes per second)`);
  for (const r of results) {
    console.log(`${r.name.padEnd(18)} chunk ${String(r.chunkKiB).padStart(5)} KiB  ${r.seconds.toFixed(2)} s  ${r.mbPerSecond.toFixed(0).padStart(5)} MB/s`);
  }
}
