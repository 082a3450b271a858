/** Durations as Go and most operators write them: `24h`, `90m`, `1h30m`, `45s`, `500ms`. */
import { UsageError } from "./command.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds; throws UsageError naming the flag. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new UsageError(`${flag}: invalid duration ${JSON.stringify(text)}; expected e.g. 24h, 90m, 1h30m, 45s`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}
