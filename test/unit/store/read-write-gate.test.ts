import { describe, expect, test } from "bun:test";
import { ReadWriteGate } from "../../../src/store/read-write-gate.ts";
import { seededRandom } from "../../helpers/seeded-random.ts";

/** A promise and its resolver. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Let every pending continuation run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("ReadWriteGate", () => {
  test("shared holders run together; an exclusive one waits for them and runs alone", async () => {
    const gate = new ReadWriteGate();
    const log: string[] = [];
    const first = latch();
    const second = latch();
    const a = gate.shared(async () => (log.push("a start"), await first.promise, log.push("a end")));
    const b = gate.shared(async () => (log.push("b start"), await second.promise, log.push("b end")));
    const w = gate.exclusive(async () => log.push("w"));
    await settle();
    expect(log).toEqual(["a start", "b start"]);
    first.open();
    await a;
    await settle();
    expect(log).toEqual(["a start", "b start", "a end"]);
    second.open();
    await Promise.all([b, w]);
    expect(log).toEqual(["a start", "b start", "a end", "b end", "w"]);
  });

  test("a shared request arriving while an exclusive one waits goes after it (no starvation)", async () => {
    const gate = new ReadWriteGate();
    const log: string[] = [];
    const held = latch();
    const a = gate.shared(async () => (await held.promise, log.push("a")));
    const w = gate.exclusive(async () => log.push("w"));
    const c = gate.shared(async () => log.push("c"));
    const d = gate.shared(async () => log.push("d"));
    await settle();
    expect(log).toEqual([]);
    expect(gate.waiting).toBe(3);
    held.open();
    await Promise.all([a, w, c, d]);
    expect(log).toEqual(["a", "w", "c", "d"]);
  });

  test("exclusive holders run one at a time, in arrival order; shared ones waiting go in between (a shared request waits for one at most)", async () => {
    const gate = new ReadWriteGate();
    const log: string[] = [];
    const held = latch();
    const w1 = gate.exclusive(async () => (log.push("w1 start"), await held.promise, log.push("w1 end")));
    const w2 = gate.exclusive(async () => log.push("w2"));
    const w3 = gate.exclusive(async () => log.push("w3"));
    const r1 = gate.shared(async () => log.push("r1"));
    const r2 = gate.shared(async () => log.push("r2"));
    await settle();
    expect(gate.exclusiveHeld).toBe(true);
    expect(log).toEqual(["w1 start"]);
    held.open();
    await Promise.all([w1, w2, w3, r1, r2]);
    expect(log).toEqual(["w1 start", "w1 end", "r1", "r2", "w2", "w3"]);
    expect(gate.exclusiveHeld).toBe(false);
  });

  test("shared and exclusive turns alternate under a steady stream of both (neither starves)", async () => {
    const gate = new ReadWriteGate();
    const log: string[] = [];
    const work: Promise<unknown>[] = [];
    // Each holder, when it runs, asks for one more of each kind, as requests that keep coming would.
    let budget = 3;
    const shared = (name: string): Promise<unknown> =>
      gate.shared(async () => {
        log.push(name);
        if (budget-- > 0) work.push(exclusive(`w${budget}`), shared(`r${budget}`));
      });
    const exclusive = (name: string): Promise<unknown> => gate.exclusive(async () => log.push(name));
    work.push(shared("r"));
    while (work.length > 0) await work.shift();
    expect(log).toEqual(["r", "w2", "r2", "w1", "r1", "w0", "r0"]);
  });

  test("a holder that fails (or throws at once) gives its turn back and its error to its caller", async () => {
    const gate = new ReadWriteGate();
    const failing = gate.exclusive(async () => {
      throw new Error("rolled back");
    });
    const throwing = gate.shared(() => {
      throw new Error("bad statement");
    });
    expect(await failing.catch((e: Error) => e.message)).toBe("rolled back");
    expect(await throwing.catch((e: Error) => e.message)).toBe("bad statement");
    expect(await gate.exclusive(async () => "after")).toBe("after");
    expect(await gate.shared(async () => "after")).toBe("after");
    expect({ held: gate.exclusiveHeld, waiting: gate.waiting }).toEqual({ held: false, waiting: 0 });
  });

  test("random arrivals: an exclusive holder never overlaps another holder, and every request runs", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rng = seededRandom(seed);
      const gate = new ReadWriteGate();
      let readers = 0;
      let writers = 0;
      const overlaps: string[] = [];
      const hold = async () => {
        for (let turns = rng.int(4); turns > 0; turns--) await settle();
      };
      const requests: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        if (rng.int(3) === 0) {
          requests.push(
            gate.exclusive(async () => {
              if (readers > 0 || writers > 0) overlaps.push(`seed ${seed}: exclusive ${i} beside ${readers} shared, ${writers} exclusive`);
              writers++;
              await hold();
              writers--;
            }),
          );
        } else {
          requests.push(
            gate.shared(async () => {
              if (writers > 0) overlaps.push(`seed ${seed}: shared ${i} beside an exclusive holder`);
              readers++;
              await hold();
              readers--;
            }),
          );
        }
        if (rng.int(4) === 0) await settle();
      }
      await Promise.all(requests);
      expect(overlaps).toEqual([]);
      expect({ held: gate.exclusiveHeld, waiting: gate.waiting }).toEqual({ held: false, waiting: 0 });
    }
  });
});
