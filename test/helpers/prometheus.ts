/** Parse the Prometheus text exposition format strictly, with expect(): a test fails on the first bad line. */
import { expect } from "bun:test";

export interface PrometheusLine {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Comments are HELP or TYPE, every other line is `name{labels} value`, and each family is typed before its samples. */
export function parsePrometheus(text: string): PrometheusLine[] {
  expect(text.endsWith("\n")).toBe(true);
  const out: PrometheusLine[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
      expect(m, line).not.toBeNull();
      if (m![1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(m![3]!);
        types.set(m![2]!, m![3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|\+Inf|-Inf|NaN))$/.exec(line);
    expect(m, `not a sample line: ${JSON.stringify(line)}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const family = m![1]!.replace(/_(bucket|sum|count)$/, "");
    expect(types.has(m![1]!) || types.get(family) === "histogram", `no TYPE before ${m![1]}`).toBe(true);
    out.push({ name: m![1]!, labels, value: m![3] === "+Inf" ? Infinity : Number(m![3]) });
  }
  return out;
}
