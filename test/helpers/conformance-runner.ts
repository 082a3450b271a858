/**
 * The checks of the distribution-spec conformance runner (the newer one,
 * configured as for spec "1.1+dev": every data set, upload cancel, digest
 * headers required, tag parameters), written again as tests any registry
 * can be put through (the app in-process, or the real `serve` over a
 * socket): every blob upload method with sha256 and sha512 (and out of
 * order chunks, recovered through the upload status), range reads, empty
 * blobs, bad digests; then each data set pushed, listed, read, queried for
 * referrers and deleted, with deletes taking effect at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Digest, digestOf, type RegisteredAlgorithm } from "../../src/digest/index.ts";
import { MediaType } from "../../src/oci/index.ts";
import type { OpenRegistry, RegistryUnderTest } from "./conformance-workflows.ts";
import { buildTar } from "./images.ts";

type Registry = RegistryUnderTest;

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
  json: any;
}

async function call(r: Registry, path: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Answer> {
  const res = await r.request(relative(path), {
    method: init.method ?? "GET",
    headers: init.headers ?? {},
    ...(init.body !== undefined ? { body: init.body as BodyInit } : {}),
  });
  const body = new Uint8Array(await res.arrayBuffer());
  // Locations may be absolute (distribution writes them so); the suite reads them relative, as here.
  const headers = new Headers(res.headers);
  const location = headers.get("location");
  if (location) headers.set("location", relative(location));
  let json: any;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    json = undefined;
  }
  return { status: res.status, headers, body, json };
}

/** A URL's path and query: absolute Locations made relative. */
function relative(location: string): string {
  if (!/^https?:\/\//.test(location)) return location;
  const url = new URL(location);
  return url.pathname + url.search;
}

function withQuery(location: string, params: Record<string, string | string[]>): string {
  const url = new URL(location, "http://registry.invalid");
  for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) url.searchParams.append(k, one);
  return url.pathname + url.search;
}

const REPO = "conformance/repo1";
const REPO2 = "conformance/repo2";
/** The runner's smallest chunk, whatever the registry advertises. */
const CHUNK_MIN = 1024;
const OCTETS = { "Content-Type": "application/octet-stream" };
const enc = (s: string) => new TextEncoder().encode(s);
const randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n));
const EXAMPLE_1 = "application/vnd.example.oci.conformance.v1";
const EXAMPLE_2 = "application/vnd.example.oci.conformance.v2";

// --- blob upload methods, as the runner drives them ---------------------------

interface Blob {
  digest: Digest;
  bytes: Uint8Array;
}
const blobOf = (bytes: Uint8Array, algorithm: RegisteredAlgorithm): Blob => ({ digest: digestOf(bytes, algorithm), bytes });

/** The blob behind a 201's Location is the one sent. */
async function expectCreated(r: Registry, a: Answer, blob: Blob) {
  expect(a.status).toBe(201);
  expect(a.headers.get("docker-content-digest")).toBe(blob.digest);
  const location = a.headers.get("location");
  expect(location).toBeTruthy();
  const got = await call(r, location!);
  expect(got.status).toBe(200);
  expect(Buffer.compare(got.body, blob.bytes)).toBe(0);
}

async function postOnly(r: Registry, repo: string, digest: Digest, bytes: Uint8Array): Promise<Answer> {
  return call(r, withQuery(`/v2/${repo}/blobs/uploads/`, { digest }), {
    method: "POST",
    headers: { ...OCTETS, "Content-Length": String(bytes.byteLength) },
    body: bytes,
  });
}

async function postPut(r: Registry, repo: string, digest: Digest, bytes: Uint8Array): Promise<Answer> {
  const post = await call(r, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(post.status).toBe(202);
  return call(r, withQuery(post.headers.get("location")!, { digest }), {
    method: "PUT",
    headers: { ...OCTETS, "Content-Length": String(bytes.byteLength) },
    body: bytes,
  });
}

async function stream(r: Registry, repo: string, digest: Digest, bytes: Uint8Array): Promise<Answer> {
  const post = await call(r, `/v2/${repo}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
  expect(post.status).toBe(202);
  const patch = await call(r, post.headers.get("location")!, { method: "PATCH", headers: OCTETS, body: bytes });
  expect(patch.status).toBe(202);
  return call(r, withQuery(patch.headers.get("location")!, { digest }), { method: "PUT", headers: { ...OCTETS, "Content-Length": "0" } });
}

/**
 * Chunks of the advertised minimum (or a third of the blob); with
 * `outOfOrder`, each chunk is preceded by one that skips ahead (or back to
 * the start), which must be 416 and leave the session as it was, as the
 * upload status then shows; with `putLastChunk` the last chunk rides on the PUT.
 */
async function chunked(
  r: Registry,
  repo: string,
  digest: Digest,
  bytes: Uint8Array,
  flags: { outOfOrder?: boolean; putLastChunk?: boolean } = {},
): Promise<{ answer: Answer; minHeader: string | null }> {
  const post = await call(r, `/v2/${repo}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
  expect(post.status).toBe(202);
  const minHeader = post.headers.get("oci-chunk-min-length");
  let chunkSize = Math.floor(bytes.byteLength / 3) + 1;
  if (minHeader && Number(minHeader) > chunkSize) chunkSize = Number(minHeader);
  chunkSize = Math.min(Math.max(chunkSize, CHUNK_MIN), bytes.byteLength);
  let location = post.headers.get("location")!;
  let lastByte = -1;
  let answer: Answer | undefined;
  while (lastByte < bytes.byteLength - 1) {
    if (flags.outOfOrder) {
      let badStart = lastByte + 1 + chunkSize;
      if (badStart >= bytes.byteLength) badStart = 0;
      const badLast = Math.min(badStart + chunkSize - 1, bytes.byteLength - 1);
      const viaPut = flags.putLastChunk && badLast === bytes.byteLength - 1;
      const bad = await call(r, viaPut ? withQuery(location, { digest }) : location, {
        method: viaPut ? "PUT" : "PATCH",
        headers: { ...OCTETS, "Content-Length": String(badLast - badStart + 1), "Content-Range": `${badStart}-${badLast}` },
        body: bytes.subarray(badStart, badLast + 1),
      });
      expect([viaPut ? "PUT" : "PATCH", bad.status]).toEqual([viaPut ? "PUT" : "PATCH", 416]);
      location = bad.headers.get("location") ?? location;
      const status = await call(r, location);
      expect(status.status).toBe(204);
      location = status.headers.get("location")!;
      expect(location).toBeTruthy();
      expect(status.headers.get("range")).toBe(`0-${Math.max(lastByte, 0)}`);
    }
    const start = lastByte + 1;
    lastByte = Math.min(start + chunkSize - 1, bytes.byteLength - 1);
    const final = flags.putLastChunk && lastByte === bytes.byteLength - 1;
    const a = await call(r, final ? withQuery(location, { digest }) : location, {
      method: final ? "PUT" : "PATCH",
      headers: { ...OCTETS, "Content-Length": String(lastByte - start + 1), "Content-Range": `${start}-${lastByte}` },
      body: bytes.subarray(start, lastByte + 1),
    });
    if (final) answer = a;
    else {
      expect(a.status).toBe(202);
      expect(a.headers.get("range")).toBe(`0-${lastByte}`);
      location = a.headers.get("location")!;
    }
  }
  answer ??= await call(r, withQuery(location, { digest }), { method: "PUT", headers: { ...OCTETS, "Content-Length": "0" } });
  return { answer, minHeader };
}

async function expectBlob(r: Registry, repo: string, blob: Blob) {
  const head = await call(r, `/v2/${repo}/blobs/${blob.digest}`, { method: "HEAD" });
  expect([head.status, head.body.byteLength, head.headers.get("content-length"), head.headers.get("docker-content-digest")]).toEqual([
    200,
    0,
    String(blob.bytes.byteLength),
    blob.digest,
  ]);
  const get = await call(r, `/v2/${repo}/blobs/${blob.digest}`);
  expect([get.status, get.headers.get("content-length"), get.headers.get("docker-content-digest")]).toEqual([200, String(blob.bytes.byteLength), blob.digest]);
  expect(Buffer.compare(get.body, blob.bytes)).toBe(0);
}

/** DELETE is 202 and takes effect at once (HEAD is 404 right after). */
async function expectDeleted(r: Registry, path: string) {
  expect((await call(r, path, { method: "DELETE" })).status).toBe(202);
  expect((await call(r, path, { method: "HEAD" })).status).toBe(404);
}

// --- data sets ------------------------------------------------------------------

interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os: string; architecture: string };
  urls?: string[];
  data?: string;
}

interface GenOptions {
  algorithm?: RegisteredAlgorithm;
  tag?: string;
  artifactType?: string;
  annotations?: Record<string, string>;
  uniqueAnnotation?: boolean;
  subject?: Descriptor;
  compress?: boolean;
  layerCount?: number;
  layerMediaType?: string;
  layerBytes?: Uint8Array;
  configMediaType?: string;
  configBytes?: Uint8Array;
  platform?: { os: string; architecture: string };
  platforms?: { os: string; architecture: string }[];
  setData?: boolean;
  extraField?: boolean;
}

/** One data set of the runner: the blobs, manifests (in push order), tags and expected referrers. */
class DataSet {
  readonly blobs = new Map<Digest, Uint8Array>();
  readonly manifests = new Map<Digest, { bytes: Uint8Array; mediaType: string }>();
  readonly order: Digest[] = [];
  readonly tags = new Map<string, Digest>();
  readonly referrers = new Map<Digest, Descriptor[]>();
  /** Manifests pushed with ?tag= for these tags; the answer must confirm them in OCI-Tag. */
  readonly tagParams = new Map<Digest, string[]>();
  /** Manifests whose push must fail with 400 (their bytes do not match their digest). */
  readonly badDigest = new Set<Digest>();

  constructor(readonly name: string) {}

  #json(value: Record<string, unknown>, extraField?: boolean): Uint8Array {
    return enc(JSON.stringify(extraField ? { ...value, [`custom${crypto.randomUUID().slice(0, 8)}`]: "a field no spec defines" } : value));
  }

  blob(bytes: Uint8Array, mediaType: string, o: GenOptions): Descriptor {
    const digest = digestOf(bytes, o.algorithm ?? "sha256");
    this.blobs.set(digest, bytes);
    return { mediaType, digest, size: bytes.byteLength, ...(o.setData ? { data: Buffer.from(bytes).toString("base64") } : {}) };
  }

  async layer(n: number, o: GenOptions): Promise<{ descriptor: Descriptor; diffId: Digest }> {
    const file = enc(`Conformance test file contents for file number ${n}.\nTodays lucky number is ${crypto.randomUUID()}\n`);
    const tar = await buildTar([{ name: `./conformance-${n}.txt`, data: file }]);
    const compress = o.compress ?? true;
    const bytes = compress ? Bun.gzipSync(tar) : tar;
    return {
      descriptor: this.blob(bytes, compress ? MediaType.ociLayerGzip : MediaType.ociLayer, o),
      diffId: digestOf(tar, o.algorithm ?? "sha256"),
    };
  }

  #annotations(o: GenOptions): Record<string, string> | undefined {
    if (!o.annotations && !o.uniqueAnnotation) return undefined;
    return { ...o.annotations, ...(o.uniqueAnnotation ? { [`org.example.${crypto.randomUUID()}`]: crypto.randomUUID() } : {}) };
  }

  #record(bytes: Uint8Array, mediaType: string, o: GenOptions, artifactType: string | undefined, annotations?: Record<string, string>): Descriptor {
    const digest = digestOf(bytes, o.algorithm ?? "sha256");
    this.manifests.set(digest, { bytes, mediaType });
    this.order.push(digest);
    const descriptor: Descriptor = { mediaType, digest, size: bytes.byteLength, ...(o.setData ? { data: Buffer.from(bytes).toString("base64") } : {}) };
    if (o.subject) {
      const list = this.referrers.get(o.subject.digest) ?? [];
      list.push({ mediaType, digest, size: bytes.byteLength, ...(artifactType ? { artifactType } : {}), ...(annotations ? { annotations } : {}) });
      this.referrers.set(o.subject.digest, list);
    }
    if (o.tag) this.tags.set(o.tag, digest);
    return descriptor;
  }

  manifest(config: Descriptor, layers: Descriptor[], o: GenOptions): Descriptor {
    const annotations = this.#annotations(o);
    const bytes = this.#json(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        ...(o.artifactType ? { artifactType: o.artifactType } : {}),
        config,
        layers,
        ...(o.subject ? { subject: o.subject } : {}),
        ...(annotations ? { annotations } : {}),
      },
      o.extraField,
    );
    return this.#record(bytes, MediaType.ociManifest, o, o.artifactType ?? config.mediaType, annotations);
  }

  async image(o: GenOptions = {}): Promise<Descriptor> {
    const layers: Descriptor[] = [];
    const diffIds: Digest[] = [];
    for (let i = 0; i < (o.layerCount ?? 2); i++) {
      if (!o.layerMediaType || o.layerMediaType.startsWith("application/vnd.oci.image.layer.v1.")) {
        const l = await this.layer(i, o);
        layers.push(l.descriptor);
        diffIds.push(l.diffId);
      } else {
        const d = this.blob(o.layerBytes ?? randomBytes(2048), o.layerMediaType, o);
        layers.push(d);
        diffIds.push(d.digest);
      }
    }
    const configMediaType = o.configMediaType ?? MediaType.ociConfig;
    const configBytes =
      configMediaType === MediaType.ociConfig
        ? this.#json(
            {
              author: "OCI Conformance Test",
              ...(o.platform ?? { os: "linux", architecture: "amd64" }),
              rootfs: { type: "layers", diff_ids: diffIds },
            },
            o.extraField,
          )
        : (o.configBytes ?? enc("{}"));
    return this.manifest(this.blob(configBytes, configMediaType, o), layers, o);
  }

  index(children: Descriptor[], platforms: ({ os: string; architecture: string } | undefined)[], o: GenOptions): Descriptor {
    const annotations = this.#annotations(o);
    const bytes = this.#json(
      {
        schemaVersion: 2,
        mediaType: MediaType.ociIndex,
        ...(o.artifactType ? { artifactType: o.artifactType } : {}),
        manifests: children.map((c, i) => ({ ...c, ...(platforms[i] ? { platform: platforms[i] } : {}) })),
        ...(o.subject ? { subject: o.subject } : {}),
        ...(annotations ? { annotations } : {}),
      },
      o.extraField,
    );
    return this.#record(bytes, MediaType.ociIndex, o, o.artifactType, annotations);
  }

  /** An index over one image per platform; the options (tag, subject, ...) apply to the images too, as in the runner. */
  async fullIndex(o: GenOptions = {}): Promise<Descriptor> {
    const platforms = o.platforms ?? [
      { os: "linux", architecture: "amd64" },
      { os: "linux", architecture: "arm64" },
    ];
    const children: Descriptor[] = [];
    for (const platform of platforms) children.push(await this.image({ ...o, platform }));
    return this.index(children, platforms, o);
  }
}

const strip = ({ data: _, ...d }: Descriptor): Descriptor => d;

async function dataSets(): Promise<DataSet[]> {
  const sets: DataSet[] = [];
  const add = (name: string) => {
    const set = new DataSet(name);
    sets.push(set);
    return set;
  };
  await add("image").image({ tag: "image" });
  await add("image-uncompressed").image({ tag: "image-uncompressed", compress: false });
  const large: Record<string, string> = {};
  for (let i = 0; i < 390; i++) large[`large-annotation-${i}`] = "A".repeat(10_000);
  await add("large-manifest").image({ tag: "large-manifest", annotations: large });
  await add("index").fullIndex({ tag: "index" });
  {
    const set = add("nested-index");
    const a = await set.fullIndex();
    const b = await set.fullIndex();
    set.index([a, b], [undefined, undefined], { tag: "index-of-index" });
  }
  await add("empty-index").fullIndex({ tag: "index", platforms: [] });
  const artifact = { artifactType: EXAMPLE_1, configMediaType: MediaType.ociEmpty, configBytes: enc("{}"), layerCount: 1, layerMediaType: EXAMPLE_1 };
  await add("artifact").image({ tag: "artifact", ...artifact });
  await add("artifact-index").fullIndex({ tag: "artifact-index", ...artifact });
  await add("artifact-without-layers").image({ ...artifact, tag: "artifact-without-layers", layerBytes: enc("{}"), layerMediaType: MediaType.ociEmpty });
  {
    const set = add("artifacts-with-subject");
    const subject = strip(await set.image({ tag: "image" }));
    await set.image({ subject });
    const note = { annotations: { "org.opencontainers.conformance": "hello conformance test" }, uniqueAnnotation: true };
    await set.image({ ...artifact, ...note, subject, tag: "tagged-artifact1" });
    await set.image({ ...artifact, ...note, artifactType: EXAMPLE_2, layerMediaType: "application/octet-stream", subject, tag: "tagged-artifact2" });
  }
  {
    const set = add("index-with-subject");
    const subject = strip(await set.fullIndex({ tag: "index" }));
    await set.fullIndex({ ...artifact, annotations: { "org.opencontainers.conformance": "hello conformance test" }, uniqueAnnotation: true, subject, tag: "tagged-artifact" });
  }
  {
    const set = add("missing-subject");
    const subject: Descriptor = { mediaType: MediaType.ociManifest, size: 123, digest: digestOf("missing content") };
    await set.image({ ...artifact, annotations: { "org.opencontainers.conformance": "hello conformance test" }, uniqueAnnotation: true, subject, tag: "tagged-artifact" });
  }
  await add("data-field").image({ tag: "data-field", setData: true });
  {
    // Layers that live elsewhere (urls) need not be in the registry.
    const set = add("non-distributable-layers");
    const elsewhere = (mediaType: string, size: number) => {
      const digest = digestOf(randomBytes(256));
      return { mediaType, digest, size, urls: [`https://store.example.com/blobs/sha256/${digest.slice(7)}`] };
    };
    const layers: Descriptor[] = [elsewhere(MediaType.ociLayerNondistributableGzip, 123456), elsewhere(MediaType.ociLayerNondistributable, 12345)];
    const normal = await set.layer(1, {});
    layers.push(normal.descriptor);
    const config = set.blob(
      enc(JSON.stringify({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [...layers.slice(0, 2).map((l) => l.digest), normal.diffId] } })),
      MediaType.ociConfig,
      {},
    );
    set.manifest(config, layers, { tag: "non-distributable-image" });
  }
  await add("custom-fields").fullIndex({ tag: "custom-fields", extraField: true });
  await add("no-layers").image({ tag: "no-layers", layerCount: 0 });
  // Other algorithms can only be tagged with ?tag= on a push by digest.
  await add("sha512").fullIndex({ algorithm: "sha512" });
  for (const algorithm of ["sha256", "sha512"] as const) {
    const set = add(`tag-param-${algorithm}`);
    await set.fullIndex({ tag: `tag-param-${algorithm}`, algorithm });
    set.order.forEach((digest, i) => set.tags.set(`tag-param-${algorithm}-${i}`, digest));
    for (const [tag, digest] of set.tags) set.tagParams.set(digest, [...(set.tagParams.get(digest) ?? []), tag]);
  }
  {
    const set = add("bad-digest-image");
    const d = await set.image();
    const m = set.manifests.get(d.digest)!;
    set.manifests.set(d.digest, { ...m, bytes: new Uint8Array([...m.bytes, ...enc("  ")]) });
    set.badDigest.add(d.digest);
  }
  return sets;
}

const ACCEPT = { Accept: `${MediaType.ociIndex}, ${MediaType.ociManifest}` };


/**
 * Registers the runner's checks as tests, against registries `open` starts
 * (one per block). Async: the data sets are generated before the tests are
 * registered.
 */
export async function conformanceRunner(open: OpenRegistry): Promise<void> {
  const sets = await dataSets();
  blobChecks(open);
  dataSetChecks(open, sets);
  errorChecks(open);
}

function blobChecks(open: OpenRegistry): void {
  describe.each(["sha256", "sha512"] as const)("conformance runner: %s blobs", (algorithm) => {
    let r: Registry;
    beforeAll(async () => {
      r = await open();
    });
    afterAll(async () => {
      await r[Symbol.asyncDispose]();
    });
    const fresh = (size = 512) => blobOf(randomBytes(size), algorithm);

    test("a blob never pushed is 404", async () => {
      expect((await call(r, `/v2/${REPO}/blobs/${fresh().digest}`)).status).toBe(404);
    });

    test("POST with the body, POST+PUT, stream, single chunk: each is 201, readable, and deleted at once", async () => {
      const cases: [string, (b: Blob) => Promise<Answer>][] = [
        ["post only", (b) => postOnly(r, REPO, b.digest, b.bytes)],
        ["post+put", (b) => postPut(r, REPO, b.digest, b.bytes)],
        ["stream", (b) => stream(r, REPO, b.digest, b.bytes)],
        ["chunked single", async (b) => (await chunked(r, REPO, b.digest, b.bytes)).answer],
      ];
      for (const [name, push] of cases) {
        const b = fresh();
        const a = await push(b);
        expect([name, a.status]).toEqual([name, 201]);
        await expectCreated(r, a, b);
        await expectBlob(r, REPO, b);
        await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
      }
    });

    test("chunked over three chunks of the advertised minimum, the last by PATCH or in the PUT, in order or not", async () => {
      const { minHeader } = await chunked(r, REPO, fresh().digest, fresh().bytes).catch(() => ({ minHeader: null }));
      const min = Math.max(Number(minHeader ?? 0), CHUNK_MIN);
      for (const flags of [{}, { putLastChunk: true }, { outOfOrder: true }, { outOfOrder: true, putLastChunk: true }]) {
        const b = fresh(min * 3 - 5);
        const { answer } = await chunked(r, REPO, b.digest, b.bytes, flags);
        expect([flags, answer.status]).toEqual([flags, 201]);
        await expectCreated(r, answer, b);
        await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
      }
    });

    test("an upload cancelled with DELETE is 204 and gone", async () => {
      const post = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST" });
      expect(post.status).toBe(202);
      const cancel = await call(r, post.headers.get("location")!, { method: "DELETE", headers: { "Content-Length": "0" } });
      expect([cancel.status, cancel.body.byteLength]).toEqual([204, 0]);
      const after = await call(r, post.headers.get("location")!);
      expect([after.status, after.json?.errors?.[0]?.code]).toEqual([404, "BLOB_UPLOAD_UNKNOWN"]);
      // Deleting a blob that was never there: 404.
      expect((await call(r, `/v2/${REPO}/blobs/${fresh().digest}`, { method: "DELETE" })).status).toBe(404);
    });

    test("mount from a repository that has the blob (201), anonymously (201), from one that lacks it (202, then PUT)", async () => {
      const b = fresh();
      expect((await postPut(r, REPO2, b.digest, b.bytes)).status).toBe(201);
      const mount = await call(r, withQuery(`/v2/${REPO}/blobs/uploads/`, { mount: b.digest, from: REPO2 }), { method: "POST" });
      await expectCreated(r, mount, b);
      await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);

      const anonymous = await call(r, withQuery(`/v2/${REPO}/blobs/uploads/`, { mount: b.digest }), { method: "POST" });
      await expectCreated(r, anonymous, b);
      await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
      await expectDeleted(r, `/v2/${REPO2}/blobs/${b.digest}`);

      const missing = fresh();
      const fallback = await call(r, withQuery(`/v2/${REPO}/blobs/uploads/`, { mount: missing.digest, from: REPO2 }), { method: "POST" });
      expect(fallback.status).toBe(202);
      const put = await call(r, withQuery(fallback.headers.get("location")!, { digest: missing.digest }), {
        method: "PUT",
        headers: { ...OCTETS, "Content-Length": String(missing.bytes.byteLength) },
        body: missing.bytes,
      });
      await expectCreated(r, put, missing);
    });

    test("range reads: 206 with Content-Range and Content-Length; out of the blob or backwards, 416", async () => {
      const b = fresh(2048);
      expect((await postPut(r, REPO, b.digest, b.bytes)).status).toBe(201);
      const ok: [string, number, number][] = [
        ["bytes=500-1499", 500, 1499],
        ["bytes=500-", 500, 2047],
        ["bytes=-500", 1548, 2047],
        ["bytes=2000-5000", 2000, 2047],
      ];
      for (const [range, first, last] of ok) {
        const a = await call(r, `/v2/${REPO}/blobs/${b.digest}`, { headers: { Range: range } });
        expect([range, a.status, a.headers.get("content-length"), a.headers.get("content-range")]).toEqual([
          range,
          206,
          String(last - first + 1),
          `bytes ${first}-${last}/2048`,
        ]);
        expect(Buffer.compare(a.body, b.bytes.subarray(first, last + 1))).toBe(0);
      }
      for (const range of ["bytes=500-0", "bytes=5000-10000"]) {
        const a = await call(r, `/v2/${REPO}/blobs/${b.digest}`, { headers: { Range: range } });
        expect([range, a.status, a.headers.get("content-range")]).toEqual([range, 416, "bytes */2048"]);
      }
      await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
    });

    test("the empty blob and the empty JSON object push, read and delete like any other", async () => {
      for (const bytes of [new Uint8Array(0), enc("{}")]) {
        for (const push of [postOnly, postPut, stream]) {
          const b = blobOf(bytes, algorithm);
          const a = await push(r, REPO, b.digest, b.bytes);
          await expectCreated(r, a, b);
          await expectBlob(r, REPO, b);
          await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
        }
        const b = blobOf(bytes, algorithm);
        await expectCreated(r, (await chunked(r, REPO, b.digest, b.bytes)).answer, b);
        await expectDeleted(r, `/v2/${REPO}/blobs/${b.digest}`);
      }
    });

    test("bytes that do not match the digest: 400 by every method, and nothing becomes visible", async () => {
      const pushes: [string, (d: Digest, bytes: Uint8Array) => Promise<Answer>][] = [
        ["post only", (d, x) => postOnly(r, REPO, d, x)],
        ["post+put", (d, x) => postPut(r, REPO, d, x)],
        ["chunked", async (d, x) => (await chunked(r, REPO, d, x)).answer],
        ["chunked, last in the PUT", async (d, x) => (await chunked(r, REPO, d, x, { putLastChunk: true })).answer],
        ["stream", (d, x) => stream(r, REPO, d, x)],
      ];
      for (const [name, push] of pushes) {
        const b = fresh(CHUNK_MIN * 3 - 5);
        const corrupt = new Uint8Array([...b.bytes, ...enc("oh no")]);
        const a = await push(b.digest, corrupt);
        expect([name, a.status, a.json?.errors?.[0]?.code]).toEqual([name, 400, "DIGEST_INVALID"]);
        expect((await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "HEAD" })).status).toBe(404);
      }
    });
  });
}

function dataSetChecks(open: OpenRegistry, sets: DataSet[]): void {
  describe("conformance runner: data sets pushed, listed, read, queried and deleted", () => {
    let r: Registry;
    beforeAll(async () => {
      r = await open();
    });
    afterAll(async () => {
      await r[Symbol.asyncDispose]();
    });

    test.each(sets.map((s) => [s.name, s] as const))("%s", async (_, set) => {
      // push: blobs, manifests by digest (children first), then tags.
      for (const [digest, bytes] of set.blobs) {
        const a = await postPut(r, REPO, digest, bytes);
        expect([digest, a.status]).toEqual([digest, 201]);
      }
      for (const digest of set.order) {
        const m = set.manifests.get(digest)!;
        const tags = set.tagParams.get(digest) ?? [];
        const put = await call(r, withQuery(`/v2/${REPO}/manifests/${digest}`, { tag: tags }), {
          method: "PUT",
          headers: { "Content-Type": m.mediaType },
          body: m.bytes,
        });
        if (set.badDigest.has(digest)) {
          expect([put.status, put.json?.errors?.[0]?.code]).toEqual([400, "DIGEST_INVALID"]);
          continue;
        }
        expect([digest, put.status, put.headers.get("docker-content-digest")]).toEqual([digest, 201, digest]);
        const subject = JSON.parse(new TextDecoder().decode(m.bytes)).subject?.digest ?? null;
        expect(put.headers.get("oci-subject")).toBe(subject);
        if (tags.length > 0) {
          const confirmed = (put.headers.get("oci-tag") ?? "").split(",").map((t) => t.trim());
          expect(confirmed.sort()).toEqual([...tags].sort());
        }
        const location = await call(r, put.headers.get("location")!, { headers: ACCEPT });
        expect([location.status, location.headers.get("content-type"), location.headers.get("content-length")]).toEqual([
          200,
          m.mediaType,
          String(m.bytes.byteLength),
        ]);
        expect(Buffer.compare(location.body, m.bytes)).toBe(0);
      }
      for (const [tag, digest] of set.tags) {
        if (set.tagParams.has(digest) || set.badDigest.has(digest)) continue;
        const m = set.manifests.get(digest)!;
        const put = await call(r, `/v2/${REPO}/manifests/${tag}`, { method: "PUT", headers: { "Content-Type": m.mediaType }, body: m.bytes });
        expect([tag, put.status, put.headers.get("docker-content-digest")]).toEqual([tag, 201, digest]);
      }
      const pushed = set.order.filter((d) => !set.badDigest.has(d));

      // list: every tag, and `last` skips the first half.
      const list = await call(r, `/v2/${REPO}/tags/list`);
      expect(list.status).toBe(200);
      for (const tag of set.tags.keys()) expect(list.json.tags).toContain(tag);
      const sorted = [...(list.json.tags as string[])].sort();
      expect(list.json.tags).toEqual(sorted);
      if (sorted.length >= 2) {
        const end = Math.floor(sorted.length / 2);
        const partial = await call(r, `/v2/${REPO}/tags/list?last=${sorted[end - 1]}`);
        expect(partial.json.tags).toEqual(sorted.slice(end));
      }

      // head and pull: by tag and digest, with type, length and digest; blobs likewise.
      for (const [reference, digest] of [...set.tags, ...pushed.map((d) => [d, d] as const)]) {
        const m = set.manifests.get(digest)!;
        const head = await call(r, `/v2/${REPO}/manifests/${reference}`, { method: "HEAD", headers: ACCEPT });
        const get = await call(r, `/v2/${REPO}/manifests/${reference}`, { headers: ACCEPT });
        for (const a of [head, get]) {
          expect([reference, a.status, a.headers.get("content-type"), a.headers.get("content-length"), a.headers.get("docker-content-digest")]).toEqual([
            reference,
            200,
            m.mediaType,
            String(m.bytes.byteLength),
            digest,
          ]);
        }
        expect(head.body.byteLength).toBe(0);
        expect(Buffer.compare(get.body, m.bytes)).toBe(0);
      }
      for (const [digest, bytes] of set.blobs) await expectBlob(r, REPO, { digest, bytes });

      // referrers: every expected entry, and filtered by each artifactType.
      for (const [subject, expected] of set.referrers) {
        const all = await call(r, `/v2/${REPO}/referrers/${subject}`);
        expect([all.status, all.headers.get("content-type"), all.json.mediaType, all.json.schemaVersion]).toEqual([200, MediaType.ociIndex, MediaType.ociIndex, 2]);
        for (const e of expected) expect(all.json.manifests).toContainEqual(expect.objectContaining(e));
        for (const artifactType of new Set(expected.map((e) => e.artifactType))) {
          const filtered = await call(r, `/v2/${REPO}/referrers/${subject}?artifactType=${encodeURIComponent(artifactType ?? "")}`);
          expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
          const want = expected.filter((e) => e.artifactType === artifactType);
          expect((filtered.json.manifests as Descriptor[]).map((d) => d.digest).sort()).toEqual(want.map((d) => d.digest).sort());
          for (const e of want) expect(filtered.json.manifests).toContainEqual(expect.objectContaining(e));
        }
      }

      // delete: tags, manifests (parents first), blobs; each gone at once.
      for (const tag of set.tags.keys()) {
        if (set.badDigest.has(set.tags.get(tag)!)) continue;
        await expectDeleted(r, `/v2/${REPO}/manifests/${tag}`);
      }
      for (const digest of [...pushed].reverse()) await expectDeleted(r, `/v2/${REPO}/manifests/${digest}`);
      for (const digest of set.blobs.keys()) await expectDeleted(r, `/v2/${REPO}/blobs/${digest}`);
    });
  });
}

function errorChecks(open: OpenRegistry): void {
  describe("conformance runner: ping, empty repositories, manifest errors", () => {
    let r: Registry;
    beforeAll(async () => {
      r = await open();
    });
    afterAll(async () => {
      await r[Symbol.asyncDispose]();
    });

    test("GET and HEAD /v2/ are 200 with the API version header", async () => {
      for (const method of ["GET", "HEAD"]) {
        const a = await call(r, "/v2/", { method });
        expect([method, a.status, a.headers.get("docker-distribution-api-version")]).toEqual([method, 200, "registry/2.0"]);
      }
    });

    test("a repository never pushed: tag list 404 NAME_UNKNOWN (200 is also allowed), referrers an empty index", async () => {
      const tags = await call(r, "/v2/never/pushed/tags/list");
      expect([tags.status, tags.json?.errors?.[0]?.code]).toEqual([404, "NAME_UNKNOWN"]);
      const referrers = await call(r, `/v2/never/pushed/referrers/${digestOf(crypto.randomUUID())}`);
      expect([referrers.status, referrers.headers.get("content-type"), referrers.json]).toEqual([
        200,
        MediaType.ociIndex,
        { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] },
      ]);
    });

    test("missing manifests are 404 by digest and by tag; a bad digest reference is 400 on PUT and 400 or 404 on GET", async () => {
      const set = new DataSet("invalid-manifest-digest");
      const d = await set.image({ layerCount: 1 });
      for (const [digest, bytes] of set.blobs) expect((await postOnly(r, REPO, digest, bytes)).status).toBe(201);
      const byDigest = await call(r, `/v2/${REPO}/manifests/${digestOf(randomBytes(1024))}`, { headers: ACCEPT });
      expect([byDigest.status, byDigest.json?.errors?.[0]?.code]).toEqual([404, "MANIFEST_UNKNOWN"]);
      const byTag = await call(r, `/v2/${REPO}/manifests/missing-${crypto.randomUUID().slice(0, 20)}`, { headers: ACCEPT });
      expect([byTag.status, byTag.json?.errors?.[0]?.code]).toEqual([404, "MANIFEST_UNKNOWN"]);
      const m = set.manifests.get(d.digest)!;
      const put = await call(r, `/v2/${REPO}/manifests/sha256:baddigeststring`, { method: "PUT", headers: { "Content-Type": m.mediaType }, body: m.bytes });
      expect([put.status, put.json?.errors?.[0]?.code]).toEqual([400, "DIGEST_INVALID"]);
      const get = await call(r, `/v2/${REPO}/manifests/sha256:baddigeststring`, { headers: ACCEPT });
      expect([400, 404]).toContain(get.status);
      // Nothing was stored under any name.
      expect((await call(r, `/v2/${REPO}/manifests/${d.digest}`, { method: "HEAD" })).status).toBe(404);
    });
  });
}
