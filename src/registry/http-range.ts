/** The byte ranges of HTTP: `Range` on blob reads, `Content-Range` on upload chunks. */
import type { ByteRange } from "../oci/index.ts";
import { OciError } from "../oci/index.ts";

/**
 * A `Range: bytes=…` request against a blob of `size` bytes. Returns the
 * range (end exclusive), undefined to serve the whole blob (no header, a
 * header we do not handle such as several ranges — RFC 9110 lets us
 * ignore those), or "unsatisfiable": past the end, or backwards
 * (`bytes=500-0`), which RFC 9110 lets a server reject and which
 * distribution (Go's ServeContent) and the conformance suite answer 416.
 */
export function parseRange(header: string | undefined | null, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // A suffix: the last N bytes.
    const n = Number(last);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start)) return undefined;
  if (start >= size) return "unsatisfiable";
  if (last !== "" && !(Number(last) >= start)) return "unsatisfiable";
  const end = last === "" ? size : Math.min(Number(last) + 1, size);
  return { start, end };
}

/**
 * An upload chunk's `Content-Range`: `start-end`, inclusive, as the OCI
 * spec writes it; `bytes start-end/total` and `bytes=start-end` are also
 * accepted, as clients send those too. Returns start and length.
 */
export function parseContentRange(header: string): { start: number; length: number } {
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = Number(match?.[1]);
  const end = Number(match?.[2]);
  if (!match || !Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) {
    throw new OciError("RANGE_INVALID", `invalid Content-Range ${JSON.stringify(header.slice(0, 100))}: expected start-end`);
  }
  return { start, length: end - start + 1 };
}

/** The `Range` header of an upload session holding `offset` bytes (distribution writes 0-0 when empty). */
export function uploadedRange(offset: number): string {
  return `0-${Math.max(offset - 1, 0)}`;
}
