/**
 * Test images, generated for real: tar layers (gzip or plain) holding
 * seeded random files, image configs with the right diff_ids, manifests,
 * multi-arch indexes and artifacts with a subject. Deterministic: the same
 * spec gives the same digests. Used by tests and benchmarks.
 *
 *   const base = generateLayer({ seed: "base", size: 4096 });
 *   const app = generateImage({ name: "docker.io/acme/app:1.0", baseLayers: [base] });
 *   await writeOciLayout(dir, [app]);
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pack } from "tar-stream";
import { type Digest, digestOf, encodedOf } from "../../src/digest/index.ts";
import { parseReference } from "../../src/reference/index.ts";
import { Annotation, type Descriptor, EMPTY_JSON, MediaType, type Platform } from "../../src/oci/index.ts";

export interface GeneratedBlob {
  descriptor: Descriptor;
  bytes: Uint8Array<ArrayBuffer>;
}

export interface Layer extends GeneratedBlob {
  /** Digest of the uncompressed tar (the config's diff_id). */
  diffId: Digest;
}

/** Something with a manifest: an image, an index or an artifact. */
export interface GeneratedManifest {
  /** Reference it is stored under (`docker.io/acme/app:1.0`), if tagged. */
  name?: string;
  descriptor: Descriptor;
  bytes: Uint8Array<ArrayBuffer>;
  /** Every blob it needs, directly or through children (config, layers). */
  blobs: GeneratedBlob[];
  /** Child manifests (for an index), each also carrying its blobs. */
  children: GeneratedManifest[];
}

export interface LayerSpec {
  seed?: string | number;
  /** Bytes of random file content in the layer (the tar is a bit larger). */
  size?: number;
  /** Number of files the content is split into. */
  files?: number;
  compression?: "gzip" | "none";
  format?: "oci" | "docker";
}

/**
 * A seeded PRNG (xorshift128+) filling buffers fast; not for cryptography.
 * The 64-bit state is kept as two 32-bit halves: the same sequence as
 * BigInt arithmetic, several times faster (benchmark sets are gigabytes).
 */
export function randomBytes(seed: string | number, size: number): Uint8Array<ArrayBuffer> {
  const h = digestOf(String(seed));
  const view = new DataView(Buffer.from(encodedOf(h), "hex").buffer);
  let s0h = view.getUint32(0);
  let s0l = (view.getUint32(4) | 1) >>> 0;
  let s1h = view.getUint32(8);
  let s1l = (view.getUint32(12) | 2) >>> 0;
  const out = new Uint8Array(size);
  const words = Math.floor(size / 8);
  // Each 64-bit word little-endian: low half first.
  const halves = new Uint32Array(out.buffer, 0, words * 2);
  for (let i = 0; i < words; i++) {
    // x = s0; y = s1; s0 = y; x ^= x << 23; s1 = x ^ y ^ (x >> 17) ^ (y >> 26); word = s1 + y
    let xh = s0h;
    let xl = s0l;
    const yh = s1h;
    const yl = s1l;
    s0h = yh;
    s0l = yl;
    xh = (xh ^ ((xh << 23) | (xl >>> 9))) >>> 0;
    xl = (xl ^ (xl << 23)) >>> 0;
    s1h = (xh ^ yh ^ (xh >>> 17) ^ (yh >>> 26)) >>> 0;
    s1l = (xl ^ yl ^ ((xl >>> 17) | (xh << 15)) ^ ((yl >>> 26) | (yh << 6))) >>> 0;
    const low = s1l + yl;
    halves[2 * i] = low >>> 0;
    halves[2 * i + 1] = (s1h + yh + (low > 0xffffffff ? 1 : 0)) >>> 0;
  }
  for (let i = words * 8; i < size; i++) out[i] = (i * 131 + size) & 0xff;
  return out;
}

/** Build a tar from entries, in memory (test layers are small). */
export async function buildTar(
  entries: { name: string; data?: Uint8Array; type?: "file" | "directory" | "symlink" | "link"; linkname?: string; mode?: number }[],
): Promise<Uint8Array<ArrayBuffer>> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of p) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      linkname: e.linkname,
      size: type === "file" ? (e.data?.byteLength ?? 0) : 0,
    };
    await new Promise<void>((resolve, reject) =>
      p.entry(header, type === "file" ? Buffer.from(e.data ?? new Uint8Array()) : "", (err) => (err ? reject(err) : resolve())),
    );
  }
  p.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

export async function generateLayer(spec: LayerSpec = {}): Promise<Layer> {
  const seed = spec.seed ?? "layer";
  const size = spec.size ?? 1024;
  const files = Math.max(1, spec.files ?? 1);
  const content = randomBytes(seed, size);
  const per = Math.ceil(size / files);
  const entries: Parameters<typeof buildTar>[0] = [{ name: `data-${seed}/`, type: "directory" }];
  for (let i = 0; i < files; i++) {
    entries.push({ name: `data-${seed}/file-${i}.bin`, data: content.subarray(i * per, Math.min(size, (i + 1) * per)) });
  }
  const tar = await buildTar(entries);
  const gzip = (spec.compression ?? "gzip") === "gzip";
  // Level 1: random content does not compress anyway, and tests want speed.
  const bytes = gzip ? new Uint8Array(Bun.gzipSync(tar as Uint8Array<ArrayBuffer>, { level: 1 })) : tar;
  const docker = spec.format === "docker";
  const mediaType = gzip
    ? docker
      ? MediaType.dockerLayerGzip
      : MediaType.ociLayerGzip
    : docker
      ? MediaType.dockerLayer
      : MediaType.ociLayer;
  return { descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength }, bytes, diffId: digestOf(tar) };
}

export interface ImageSpec {
  name?: string;
  /** Number of own layers (after the base layers). Default 2. */
  layers?: number;
  layerSize?: number;
  seed?: string | number;
  baseLayers?: Layer[];
  platform?: Platform;
  compression?: "gzip" | "none";
  format?: "oci" | "docker";
  annotations?: Record<string, string>;
}

export function generateImage(spec: ImageSpec = {}): Promise<GeneratedManifest> {
  return buildImage(spec, keepInMemory);
}

/**
 * What happens to each layer once generated: kept in memory (the default), or
 * written into a layout and dropped (writeReleaseLayout).
 */
type KeepLayer = (layer: Layer) => Promise<Layer>;

const keepInMemory: KeepLayer = async (layer) => layer;

async function buildImage(spec: ImageSpec, keep: KeepLayer): Promise<GeneratedManifest> {
  const seed = spec.seed ?? spec.name ?? "image";
  const format = spec.format ?? "oci";
  const own: Layer[] = [];
  for (let i = 0; i < (spec.layers ?? 2); i++) {
    own.push(
      await keep(await generateLayer({ seed: `${seed}/layer-${i}`, size: spec.layerSize ?? 1024, compression: spec.compression, format })),
    );
  }
  const layers = [...(spec.baseLayers ?? []), ...own];
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const config = json({
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: "2024-01-01T00:00:00Z",
    config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/bin/sh"], Labels: { seed: String(seed) } },
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: "2024-01-01T00:00:00Z", created_by: `layer ${i}` })),
  });
  const configBlob: GeneratedBlob = {
    descriptor: { mediaType: format === "docker" ? MediaType.dockerConfig : MediaType.ociConfig, digest: digestOf(config), size: config.byteLength },
    bytes: config,
  };
  const mediaType = format === "docker" ? MediaType.dockerManifest : MediaType.ociManifest;
  const bytes = json({
    schemaVersion: 2,
    mediaType,
    config: configBlob.descriptor,
    layers: layers.map((l) => l.descriptor),
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  return {
    name: spec.name,
    descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength, platform },
    bytes,
    blobs: [configBlob, ...layers],
    children: [],
  };
}

/** A multi-arch index over images (their descriptors carry the platform). */
export function generateIndex(name: string | undefined, images: GeneratedManifest[], format: "oci" | "docker" = "oci"): GeneratedManifest {
  const mediaType = format === "docker" ? MediaType.dockerManifestList : MediaType.ociIndex;
  const bytes = json({ schemaVersion: 2, mediaType, manifests: images.map((i) => i.descriptor) });
  return {
    name,
    descriptor: { mediaType, digest: digestOf(bytes), size: bytes.byteLength },
    bytes,
    blobs: [],
    children: images,
  };
}

/** A multi-arch image: one index over linux/amd64 and linux/arm64 variants. */
export function generateMultiArch(name: string, spec: Omit<ImageSpec, "name" | "platform"> = {}): Promise<GeneratedManifest> {
  return buildMultiArch(name, spec, keepInMemory);
}

async function buildMultiArch(name: string, spec: Omit<ImageSpec, "name" | "platform">, keep: KeepLayer): Promise<GeneratedManifest> {
  const platforms: Platform[] = [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm64", variant: "v8" },
  ];
  const images: GeneratedManifest[] = [];
  for (const platform of platforms) {
    images.push(await buildImage({ ...spec, seed: `${spec.seed ?? name}/${platform.architecture}`, platform }, keep));
  }
  return generateIndex(name, images);
}

/** An artifact (e.g. a signature or SBOM) whose `subject` is another manifest. */
export function generateArtifact(
  subject: GeneratedManifest,
  options: { artifactType?: string; payload?: string; name?: string; annotations?: Record<string, string> } = {},
): GeneratedManifest {
  const payload = new TextEncoder().encode(options.payload ?? `signature of ${subject.descriptor.digest}`);
  const layer: GeneratedBlob = {
    descriptor: { mediaType: "application/octet-stream", digest: digestOf(payload), size: payload.byteLength },
    bytes: payload,
  };
  const empty: GeneratedBlob = { descriptor: { mediaType: EMPTY_JSON.mediaType, digest: EMPTY_JSON.digest as Digest, size: 2 }, bytes: new TextEncoder().encode("{}") };
  const artifactType = options.artifactType ?? "application/vnd.example.signature.v1";
  const { platform: _, ...subjectDescriptor } = subject.descriptor;
  const bytes = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: empty.descriptor,
    layers: [layer.descriptor],
    subject: subjectDescriptor,
    annotations: options.annotations ?? { "org.opencontainers.image.created": "2024-01-01T00:00:00Z" },
  });
  return {
    name: options.name,
    descriptor: { mediaType: MediaType.ociManifest, digest: digestOf(bytes), size: bytes.byteLength, artifactType },
    bytes,
    blobs: [empty, layer],
    children: [],
  };
}

/** Every blob of a manifest tree, de-duplicated by digest. */
export function allBlobs(items: GeneratedManifest[]): GeneratedBlob[] {
  const seen = new Map<string, GeneratedBlob>();
  const walk = (m: GeneratedManifest) => {
    for (const b of m.blobs) seen.set(b.descriptor.digest, b);
    for (const c of m.children) walk(c);
  };
  items.forEach(walk);
  return [...seen.values()];
}

/** Every manifest of a tree (children first), de-duplicated by digest. */
export function allManifests(items: GeneratedManifest[]): GeneratedManifest[] {
  const seen = new Map<string, GeneratedManifest>();
  const walk = (m: GeneratedManifest) => {
    m.children.forEach(walk);
    seen.set(m.descriptor.digest, m);
  };
  items.forEach(walk);
  return [...seen.values()];
}

export interface LayoutOptions {
  /**
   * How `org.opencontainers.image.ref.name` is written: the full reference
   * (stevedore bundles), `repo:tag` as skopeo does, or the bare tag.
   */
  refName?: "full" | "tag" | "none";
}

/**
 * Write an OCI image layout directory holding these manifests (and all
 * their blobs). Manifests with a `name` get an index.json entry annotated
 * with it; artifacts without a name are stored as blobs only.
 */
export function writeOciLayout(dir: string, items: GeneratedManifest[], options: LayoutOptions = {}): Promise<void> {
  return writeLayout(dir, items, options, new Set());
}

/** Write one blob into a layout's `blobs/sha256` (which must exist). */
async function writeLayoutBlob(dir: string, digest: string, bytes: Uint8Array): Promise<void> {
  const path = join(dir, "blobs", "sha256", encodedOf(digest as Digest));
  await writeFile(`${path}.tmp`, bytes);
  await rename(`${path}.tmp`, path);
}

async function startLayout(dir: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
}

/** writeOciLayout, leaving alone the blobs in `written` (already in the layout). */
async function writeLayout(dir: string, items: GeneratedManifest[], options: LayoutOptions, written: ReadonlySet<string>): Promise<void> {
  await startLayout(dir);
  const write = writeLayoutBlob.bind(null, dir);
  for (const b of allBlobs(items)) if (!written.has(b.descriptor.digest)) await write(b.descriptor.digest, b.bytes);
  for (const m of allManifests(items)) await write(m.descriptor.digest, m.bytes);
  const manifests = items
    .filter((m) => m.name !== undefined)
    .map((m) => {
      const refName = options.refName ?? "full";
      const tag = parseReference(m.name!).tag ?? "latest";
      const annotations =
        refName === "none" ? undefined : { [Annotation.refName]: refName === "full" ? m.name! : tag };
      return { ...m.descriptor, ...(annotations ? { annotations } : {}) };
    });
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests }));
}

export interface ReleaseOptions {
  registry?: string;
  images?: number;
  layerSize?: number;
  layers?: number;
  seed?: string;
}

/** A set of images shaped like a real release: shared bases, a multi-arch image, an artifact. */
export function generateRelease(options: ReleaseOptions = {}): Promise<GeneratedManifest[]> {
  return buildRelease(options, keepInMemory);
}

async function buildRelease(options: ReleaseOptions, keep: KeepLayer): Promise<GeneratedManifest[]> {
  const registry = options.registry ?? "docker.io";
  const seed = options.seed ?? "release";
  const layerSize = options.layerSize ?? 2048;
  const baseA = await keep(await generateLayer({ seed: `${seed}/base-a`, size: layerSize }));
  const baseB = await keep(await generateLayer({ seed: `${seed}/base-b`, size: layerSize }));
  const out: GeneratedManifest[] = [];
  const count = options.images ?? 4;
  for (let i = 0; i < count; i++) {
    out.push(
      await buildImage(
        {
          name: `${registry}/acme/app-${i}:1.${i}`,
          seed: `${seed}/app-${i}`,
          baseLayers: i % 2 === 0 ? [baseA] : [baseA, baseB],
          layers: options.layers ?? 2,
          layerSize,
        },
        keep,
      ),
    );
  }
  const multi = await buildMultiArch(`${registry}/library/multi:2.0`, { seed: `${seed}/multi`, baseLayers: [baseA], layerSize }, keep);
  out.push(multi);
  out.push(generateArtifact(out[0]!, { name: `${registry}/acme/app-0:1.0.sig` }));
  return out;
}

export interface ReleaseLayout {
  /** The tagged manifests, in index.json order. */
  images: { name: string; descriptor: Descriptor }[];
  /** Distinct blobs and manifests in the layout, and their bytes. */
  blobs: number;
  bytes: number;
}

/**
 * The release generateRelease makes, written into an OCI layout a layer at a
 * time: each layer goes to disk as soon as it exists and only its descriptor
 * stays in memory, so a set of gigabytes (benchmarks) needs one layer's worth.
 */
export async function writeReleaseLayout(dir: string, options: ReleaseOptions = {}, layout: LayoutOptions = {}): Promise<ReleaseLayout> {
  await startLayout(dir);
  const written = new Set<string>();
  const empty = new Uint8Array(0);
  const items = await buildRelease(options, async (layer) => {
    if (!written.has(layer.descriptor.digest)) await writeLayoutBlob(dir, layer.descriptor.digest, layer.bytes);
    written.add(layer.descriptor.digest);
    // The bytes are in the layout now; writeLayout skips every digest in `written`.
    return { ...layer, bytes: empty };
  });
  await writeLayout(dir, items, layout, written);
  const blobs = [...allBlobs(items), ...allManifests(items)];
  return {
    images: items.filter((m) => m.name !== undefined).map((m) => ({ name: m.name!, descriptor: m.descriptor })),
    blobs: blobs.length,
    bytes: blobs.reduce((sum, b) => sum + b.descriptor.size, 0),
  };
}

function json(value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(value));
}
