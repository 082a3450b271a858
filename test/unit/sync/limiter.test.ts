import { expect, test } from "bun:test";
import { Limiter } from "../../../src/sync/limiter.ts";
import { SingleFlight } from "../../../src/sync/single-flight.ts";
import { settleAll, untilAborted } from "../../../src/sync/settle.ts";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

test("a limiter runs at most its limit, first come first served", async () => {
  const limiter = new Limiter(2);
  const gates = [deferred(), deferred(), deferred(), deferred()];
  const started: number[] = [];
  const runs = gates.map((g, i) =>
    limiter.run(async () => {
      started.push(i);
      await g.promise;
      return i;
    }),
  );
  await Bun.sleep(0);
  expect(started).toEqual([0, 1]);
  expect(limiter.active).toBe(2);
  gates[1]!.resolve();
  await runs[1];
  await Bun.sleep(0);
  expect(started).toEqual([0, 1, 2]);
  for (const g of gates) g.resolve();
  expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
  expect(limiter.active).toBe(0);
});

test("a failing task frees its slot; an aborted waiter leaves the queue", async () => {
  const limiter = new Limiter(1);
  const gate = deferred();
  const holding = limiter.run(() => gate.promise);
  const stop = new AbortController();
  const dropped = limiter.run(async () => "never", stop.signal);
  const next = limiter.run(async () => "next");
  stop.abort(new Error("stop"));
  await expect(dropped).rejects.toThrow("stop");
  gate.resolve();
  await holding;
  expect(await next).toBe("next");
  await expect(limiter.run(async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
  expect(await limiter.run(async () => 1)).toBe(1);
  expect(() => new Limiter(0)).toThrow(RangeError);
});

test("single flight shares one run per key, failures included", async () => {
  const flights = new SingleFlight<number>();
  let runs = 0;
  const work = async () => ++runs;
  expect(await Promise.all([flights.run("a", work), flights.run("a", work), flights.run("b", work)])).toEqual([1, 1, 2]);
  expect(await flights.run("a", work)).toBe(1);
  const failing = flights.run("c", async () => Promise.reject(new Error("bad")));
  await expect(failing).rejects.toThrow("bad");
  await expect(flights.run("c", work)).rejects.toThrow("bad");
});

test("settleAll waits for every step before failing with the first error", async () => {
  let late = false;
  const slow = Bun.sleep(5).then(() => void (late = true));
  await expect(settleAll([Promise.reject(new Error("first")), slow])).rejects.toThrow("first");
  expect(late).toBe(true);
});

test("untilAborted stops waiting when the signal aborts", async () => {
  const stop = new AbortController();
  const never = new Promise<void>(() => {});
  const waiting = untilAborted(never, stop.signal);
  stop.abort(new Error("cancelled"));
  await expect(waiting).rejects.toThrow("cancelled");
  expect(await untilAborted(Promise.resolve(3), new AbortController().signal)).toBe(3);
});
