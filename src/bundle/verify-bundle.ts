/**
 * `bundle verify`: check a bundle (a tar or a directory) before trusting
 * it. Every blob file is hashed again and compared with its name; every
 * index.json entry is walked, and each manifest it reaches must be
 * present, match its digest and size, and parse; each config and layer
 * must be present with the size its manifest says (or be left to a
 * delta's base); oci-layout, index.json and manifest.json must be what
 * they claim. All problems are collected, each naming the file.
 */
import { type Digest, DigestHasher, isVerifiable } from "../digest/index.ts";
import { Annotation, describeZodError, imageIndexSchema } from "../oci/index.ts";
import { deltaBaseOf } from "../transports/index.ts";
import { readerOf } from "./base-bundle.ts";
import { digestOfBlobName, openBundleFiles, readIndexBytes } from "./bundle-files.ts";
import { walkImage } from "./image-tree.ts";
import { blobPath } from "./layout-documents.ts";

export interface VerifyProblem {
  /** The file inside the bundle: `index.json`, `blobs/sha256/…`. */
  file: string;
  digest?: Digest;
  message: string;
}

export interface VerifyReport {
  path: string;
  kind: "directory" | "archive";
  /** Blob files hashed, and their bytes. */
  blobs: number;
  bytes: number;
  /** Index entries walked. */
  entries: number;
  /** Blobs a delta leaves to its base (not problems). */
  inBase: number;
  problems: VerifyProblem[];
}

export interface VerifyOptions {
  /** Files hashed at once (default 4). */
  parallel?: number;
  signal?: AbortSignal;
  /** Bytes hashed since the last call. */
  onBytes?: (bytes: number) => void;
}

export async function verifyBundle(path: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const files = await openBundleFiles(path);
  const problems: VerifyProblem[] = [];
  const seen = new Set<string>();
  const problem = (p: VerifyProblem) => {
    const key = `${p.file}\0${p.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push(p);
  };

  const layout = await files.file("oci-layout");
  if (!layout) problem({ file: "oci-layout", message: "missing" });
  else if (!(await isLayoutFile(layout))) problem({ file: "oci-layout", message: 'is not {"imageLayoutVersion":"1.0.0"}' });

  // Every blob file, hashed: the name is the digest its bytes must have.
  const blobFiles = await files.blobFiles();
  const sizes = new Map(blobFiles.map((f) => [f.name, f.size]));
  const corrupt = new Set<string>();
  let bytes = 0;
  const queue = [...blobFiles];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      options.signal?.throwIfAborted();
      const digest = digestOfBlobName(next.name)!;
      bytes += next.size;
      if (!isVerifiable(digest)) {
        problem({ file: next.name, digest, message: `cannot be checked: unsupported digest algorithm` });
        continue;
      }
      const file = (await files.file(next.name))!;
      const hasher = DigestHasher.for(digest);
      for await (const chunk of file.stream()) {
        hasher.update(chunk);
        options.onBytes?.(chunk.byteLength);
      }
      const actual = hasher.digest();
      if (actual !== digest) {
        corrupt.add(digest);
        problem({ file: next.name, digest, message: `content hashes to ${actual}` });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 4) }, worker));

  // index.json, and everything its entries reach.
  let entries = 0;
  let inBase = 0;
  const indexed = await readIndexBytes(files).catch(() => undefined);
  if (!indexed) problem({ file: "index.json", message: "missing" });
  else {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(indexed.bytes));
    } catch (error) {
      problem({ file: "index.json", message: `is not valid JSON: ${(error as Error).message}` });
    }
    const result = json === undefined ? undefined : imageIndexSchema.safeParse(json);
    if (result && !result.success) problem({ file: "index.json", message: `is not an OCI image index: ${describeZodError(result.error)}` });
    if (result?.success) {
      const base = deltaBaseOf(result.data.annotations);
      const read = readerOf(files);
      const leftToBase = new Set<string>();
      for (const entry of result.data.manifests) {
        entries++;
        const name = entry.annotations?.[Annotation.refName] ?? entry.digest;
        const tree = await walkImage(async (d) => (corrupt.has(d) ? undefined : read(d)), entry);
        for (const p of tree.problems) {
          if (corrupt.has(p.digest)) continue; // reported with its hash
          problem({ file: blobPath(p.digest), digest: p.digest, message: `${p.message} (image ${name})` });
        }
        for (const b of tree.blobs) {
          const file = blobPath(b.descriptor.digest);
          const size = sizes.get(file);
          if (size === undefined) {
            if (base?.blobs.has(b.descriptor.digest)) leftToBase.add(b.descriptor.digest);
            else problem({ file, digest: b.descriptor.digest, message: `missing: the ${b.role} of manifest ${b.manifest} (image ${name})` });
          } else if (size !== b.descriptor.size) {
            problem({ file, digest: b.descriptor.digest, message: `is ${size} bytes; manifest ${b.manifest} says ${b.descriptor.size} (image ${name})` });
          }
        }
      }
      inBase = leftToBase.size;
    }
  }
  await checkDockerManifest(files, sizes, problem);
  return { path, kind: files.kind, blobs: blobFiles.length, bytes, entries, inBase, problems };
}

async function isLayoutFile(file: Blob): Promise<boolean> {
  if (file.size > 4096) return false;
  try {
    const json = JSON.parse(await file.text()) as { imageLayoutVersion?: unknown };
    return typeof json.imageLayoutVersion === "string" && json.imageLayoutVersion.startsWith("1.");
  } catch {
    return false;
  }
}

/** manifest.json, when there is one: every path it names must be in the bundle. */
async function checkDockerManifest(
  files: Awaited<ReturnType<typeof openBundleFiles>>,
  sizes: Map<string, number>,
  problem: (p: VerifyProblem) => void,
): Promise<void> {
  const file = await files.file("manifest.json");
  if (!file) return;
  let json: unknown;
  try {
    if (file.size > 16 * 1024 * 1024) throw new Error(`${file.size} bytes`);
    json = JSON.parse(await file.text());
  } catch (error) {
    problem({ file: "manifest.json", message: `is not valid JSON: ${(error as Error).message}` });
    return;
  }
  if (!Array.isArray(json)) {
    problem({ file: "manifest.json", message: "is not a list of images" });
    return;
  }
  json.forEach((image: { Config?: unknown; Layers?: unknown }, i) => {
    const paths = [image?.Config, ...(Array.isArray(image?.Layers) ? image.Layers : [undefined])];
    for (const p of paths) {
      if (typeof p !== "string") problem({ file: "manifest.json", message: `image ${i}: Config and Layers must be paths` });
      else if (!sizes.has(p)) problem({ file: "manifest.json", message: `image ${i}: ${p} is not in the bundle` });
    }
  });
}
