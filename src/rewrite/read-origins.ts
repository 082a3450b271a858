/**
 * Read origins from what a site was filled with: an image list (one
 * reference per line, `#` comments), an OCI layout directory, or a bundle
 * (a tar of an OCI layout). Layouts and bundles name their images in
 * index.json annotations; only full references (with a repository, not a
 * bare tag) say where an image came from.
 */
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { Annotation } from "../oci/index.ts";
import { RewriteError } from "./errors.ts";
import { Origins } from "./origins.ts";

/** Parse an image list: one reference per line; blank lines and `#` comments ignored. */
export function parseImageList(text: string, description: string, into = new Origins(description)): Origins {
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line) into.add(line, `${description}:${i + 1}`);
  });
  return into;
}

const layoutIndexSchema = z.object({
  manifests: z.array(z.object({ annotations: z.record(z.string(), z.string()).optional() })),
});

/** Origins from the text of a layout's index.json. */
export function parseLayoutIndex(json: string, description: string): Origins {
  let parsed: z.infer<typeof layoutIndexSchema>;
  try {
    parsed = layoutIndexSchema.parse(JSON.parse(json));
  } catch (error) {
    throw new RewriteError(`${description}: index.json is not an OCI image index (${(error as Error).message.split("\n")[0]})`);
  }
  const origins = new Origins(description);
  parsed.manifests.forEach((m, i) => {
    const name = m.annotations?.[Annotation.containerdImageName] ?? m.annotations?.[Annotation.refName];
    // A bare tag (`1.25`, `latest`) names no repository, so no origin.
    if (name && /[/:@]/.test(name)) origins.add(name, `${description}: index.json manifests[${i}]`);
  });
  if (origins.size === 0) {
    throw new RewriteError(`${description}: index.json names no image by its full reference, so it cannot tell where images came from`);
  }
  return origins;
}

/** Read origins from an image list file, a layout directory, or a bundle tar. */
export async function readOrigins(path: string): Promise<Origins> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new RewriteError(`Cannot read image list ${JSON.stringify(path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (info.isDirectory()) {
    let json: string;
    try {
      json = await readFile(join(path, "index.json"), "utf8");
    } catch {
      throw new RewriteError(`${path} is a directory without index.json: not an OCI image layout`);
    }
    return parseLayoutIndex(json, path);
  }
  const index = await readTarMember(path, "index.json");
  if (index !== undefined) return parseLayoutIndex(index, path);
  return parseImageList(await readFile(path, "utf8"), path);
}

const BLOCK = 512;
/** index.json of a bundle is small; anything bigger is not what we look for. */
const MEMBER_MAX = 16 * 1024 * 1024;

/**
 * The text of one top-level member of a tar file, found by walking the
 * headers and seeking past contents (bundles are GiB; index.json may be
 * last). Undefined when the file is not a tar or has no such member.
 */
export async function readTarMember(path: string, name: string): Promise<string | undefined> {
  const file = await open(path, "r");
  try {
    const size = (await file.stat()).size;
    const header = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | undefined;
    while (offset + BLOCK <= size) {
      const { bytesRead } = await file.read(header, 0, BLOCK, offset);
      if (bytesRead < BLOCK || header.every((b) => b === 0)) return undefined;
      if (header.subarray(257, 262).toString("latin1") !== "ustar") return undefined;
      if (!checksumOk(header)) return undefined;
      const type = String.fromCharCode(header[156] ?? 0);
      const length = octal(header.subarray(124, 136));
      const dataStart = offset + BLOCK;
      offset = dataStart + Math.ceil(length / BLOCK) * BLOCK;
      if (type === "L" || type === "x") {
        // GNU long name, or a pax header that may carry `path`.
        const data = Buffer.alloc(Math.min(length, 64 * 1024));
        await file.read(data, 0, data.length, dataStart);
        const text = data.toString("utf8");
        longName = type === "L" ? text.replace(/\0.*$/s, "") : /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1] ?? longName;
        continue;
      }
      const prefix = cString(header.subarray(345, 500));
      const entryName = longName ?? (prefix ? `${prefix}/` : "") + cString(header.subarray(0, 100));
      longName = undefined;
      if ((type === "0" || type === "\0") && entryName.replace(/^\.\//, "") === name) {
        if (length > MEMBER_MAX) throw new RewriteError(`${path}: ${name} is ${length} bytes; that is not an image index`);
        const data = Buffer.alloc(length);
        await file.read(data, 0, length, dataStart);
        return data.toString("utf8");
      }
    }
    return undefined;
  } finally {
    await file.close();
  }
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(end >= 0 ? bytes.subarray(0, end) : bytes).toString("utf8");
}

function octal(bytes: Uint8Array): number {
  // Base-256 (GNU) for sizes over 8 GiB: high bit set on the first byte.
  if ((bytes[0] ?? 0) & 0x80) {
    let n = (bytes[0] ?? 0) & 0x7f;
    for (let i = 1; i < bytes.length; i++) n = n * 256 + (bytes[i] ?? 0);
    return n;
  }
  const text = cString(bytes).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

function checksumOk(header: Uint8Array): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : (header[i] ?? 0);
  return sum === octal(header.subarray(148, 156));
}
