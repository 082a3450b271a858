/**
 * Entry names as the flattened filesystem sees them: relative to its
 * root, cleaned (`./a//b/` → `a/b`). An absolute name is taken relative to
 * the root, as docker and containerd apply layers; a name whose `..`
 * climbs out of the root is refused.
 */
import { FlattenError } from "./errors.ts";

/** The cleaned path; "" is the root itself. */
export function cleanEntryPath(raw: string, where: string): string {
  if (raw.includes("\0")) throw new FlattenError(`${where}: entry name ${JSON.stringify(raw)} contains a NUL byte`);
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) throw new FlattenError(`${where}: entry ${JSON.stringify(raw)} points outside the root filesystem`);
      parts.pop();
      continue;
    }
    parts.push(part);
  }
  return parts.join("/");
}

export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "" : path.slice(0, slash);
}

export function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** Every proper ancestor of a path, outermost first: `a/b/c` → `a`, `a/b`. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) out.push(path.slice(0, i));
  return out;
}

export const OPAQUE_MARKER = ".wh..wh..opq";
export const WHITEOUT_PREFIX = ".wh.";

export type EntryKind = { kind: "entry" } | { kind: "whiteout"; target: string } | { kind: "opaque"; dir: string } | { kind: "ignored" };

/** What an entry means: content, a whiteout of a lower path, an opaque-directory marker, or aufs metadata. */
export function classify(path: string): EntryKind {
  const base = baseOf(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return { kind: "entry" };
  if (base === OPAQUE_MARKER) return { kind: "opaque", dir: parentOf(path) };
  // Other `.wh..wh.` names are aufs bookkeeping (hard link dirs, ...), not files.
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: "ignored" };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === "") return { kind: "ignored" };
  return { kind: "whiteout", target: joinPath(parentOf(path), name) };
}
