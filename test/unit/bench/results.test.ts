/** Benchmark rows: the ratio is stevedore's advantage whichever way the unit points; targets and limits. */
import { describe, expect, test } from "bun:test";
import { evaluate, formatTable, type Row } from "../../../scripts/bench/results.ts";
import { alternate } from "../../../scripts/bench/trials.ts";

const base: Row = { bench: "b", name: "r", unit: "s", better: "lower", stevedore: 2, peer: 4, peerName: "peer" };

describe("evaluate", () => {
  test.each([
    ["lower is better: peer / stevedore", { ...base }, 2, null],
    ["higher is better: stevedore / peer", { ...base, better: "higher" as const }, 0.5, null],
    ["target met", { ...base, target: 2 }, 2, true],
    ["target missed", { ...base, target: 2.5 }, 2, false],
    ["limit met (at most, lower is better)", { ...base, limit: 2 }, 2, true],
    ["limit missed", { ...base, limit: 1.5 }, 2, false],
    ["limit (at least, higher is better)", { ...base, better: "higher" as const, limit: 3 }, 0.5, false],
    ["target met but limit missed", { ...base, target: 1, limit: 1 }, 2, false],
    ["no peer: only the limit", { ...base, peer: null, limit: 3 }, null, true],
    ["nothing measured", { ...base, stevedore: null, target: 1 }, null, null],
    ["an error always misses", { ...base, target: 1, error: "boom" }, 2, false],
  ] as const)("%s", (_, row, ratio, ok) => {
    const result = evaluate(row as Row);
    expect({ ratio: result.ratio, ok: result.ok }).toEqual({ ratio, ok });
  });
});

test("the table shows every row, its ratio, its target and misses", () => {
  const table = formatTable([evaluate({ ...base, target: 1 }), evaluate({ ...base, name: "other", target: 3, note: "why" })]);
  const lines = table.split("\n");
  expect(lines[0]).toMatch(/^bench\s+row\s+unit\s+stevedore\s+peer\s+peer value\s+×\s+target$/);
  expect(lines[2]).toMatch(/^b\s+r\s+s\s+2\.00\s+peer\s+4\.00\s+2\.00\s+≥1×\s+ok$/);
  expect(lines[3]).toMatch(/other .* ≥3×\s+MISS$/);
  expect(table).toContain("  other: why");
});

describe("alternate", () => {
  test("alternates the order, keeps every figure, and the best per peer", async () => {
    const calls: string[] = [];
    const figures: Record<string, number[]> = { a: [3, 1, 2], b: [5, 6, 4] };
    const result = await alternate(["a", "b"], 3, "lower", async (kind, trial) => {
      calls.push(`${kind}${trial}`);
      return figures[kind]![trial]!;
    });
    expect(calls).toEqual(["a0", "b0", "b1", "a1", "a2", "b2"]);
    expect(result).toEqual({ values: { a: 1, b: 4 }, all: { a: [3, 1, 2], b: [5, 6, 4] } });
    const higher = await alternate(["a", "b"], 3, "higher", async (kind, trial) => figures[kind]![trial]!);
    expect(higher.values).toEqual({ a: 3, b: 6 });
  });

  test("a failing peer stops being tried; its error is kept, the other goes on", async () => {
    let tries = 0;
    const result = await alternate(["a", "b"], 3, "lower", async (kind) => {
      if (kind === "b") {
        tries++;
        throw new Error("no registry\nmore detail");
      }
      return 1;
    });
    expect({ ...result, tries }).toEqual({ values: { a: 1 }, all: { a: [1, 1, 1] }, error: "b: no registry", tries: 1 });
  });
});
