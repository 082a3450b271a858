/**
 * The benchmarks still run end to end: `--quick` sizes (a few MiB, half a
 * second per rate), every bench, results JSON with a figure on both sides
 * of every row. It checks the harness, not the speed: no target is asserted.
 */
import { expect, test } from "bun:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { RowResult } from "../../scripts/bench/results.ts";

const ROOT = resolve(import.meta.dir, "../..");

test("npm run bench -- --quick", async () => {
  const dir = await mkdtemp(join(tmpdir(), "bench-smoke-"));
  try {
    const out = join(dir, "results.json");
    const child = Bun.spawn([process.execPath, join(ROOT, "scripts/bench/run.ts"), "--quick", "--out", out], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toContain("× = stevedore's advantage");
    const report = (await Bun.file(out).json()) as { mode: string; rows: RowResult[] };
    expect(report.mode).toBe("quick");
    const broken = report.rows.filter((r) => r.error || r.stevedore === null || (r.peerName !== "—" && r.peer === null));
    expect(broken.map((r) => `${r.bench}/${r.name}: ${r.error ?? "no figure"}`)).toEqual([]);
    expect([...new Set(report.rows.map((r) => r.bench))]).toEqual(expect.arrayContaining(["registry", "sync"]));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 300_000);
