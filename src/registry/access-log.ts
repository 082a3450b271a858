/** One line per request: method, path, status, bytes, milliseconds. */
export interface AccessLogEntry {
  time: string;
  remote?: string;
  user?: string;
  method: string;
  path: string;
  status: number;
  /** Response body size (from Content-Length; 0 when streamed without one). */
  bytes: number;
  ms: number;
}

export type AccessLogFormat = "text" | "json";

export function formatAccessLog(entry: AccessLogEntry, format: AccessLogFormat): string {
  if (format === "json") return `${JSON.stringify(entry)}\n`;
  const who = `${entry.remote ?? "-"} ${entry.user ?? "-"}`;
  return `${entry.time} ${who} ${entry.method} ${entry.path} ${entry.status} ${entry.bytes} ${entry.ms.toFixed(1)}ms\n`;
}
