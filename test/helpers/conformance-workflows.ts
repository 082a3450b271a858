/**
 * The checks of the OCI distribution-spec conformance suite, written again
 * as tests any registry can be put through (the app in-process, or the real
 * `serve` over a socket): its four classic workflows (pull, push, content
 * discovery, content management) run in order against one repository, as
 * the suite runs them. (The newer runner's cases are in
 * conformance-runner.ts.) Where the suite accepts several answers, the
 * test pins the one we give, and a comment says why.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Digest, digestOf, type RegisteredAlgorithm } from "../../src/digest/index.ts";
import { EMPTY_JSON, MediaType } from "../../src/oci/index.ts";

/** A registry to check: requests go in as a client sends them (paths from /v2/). */
export interface RegistryUnderTest {
  request(path: string, init?: RequestInit): Promise<Response>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts a fresh, empty registry (each describe block opens its own). */
export type OpenRegistry = () => Promise<RegistryUnderTest>;

type Registry = RegistryUnderTest;

interface Answer {
  status: number;
  headers: Headers;
  body: Uint8Array;
  text: string;
  json: any;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

async function call(r: Registry, path: string, init: Call = {}): Promise<Answer> {
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
  const text = new TextDecoder().decode(body);
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers, body, text, json };
}

/** A Location (relative, as the registry writes it) with query parameters added. */
/** A URL's path and query: absolute Locations made relative. */
function relative(location: string): string {
  if (!/^https?:\/\//.test(location)) return location;
  const url = new URL(location);
  return url.pathname + url.search;
}

function withQuery(location: string, params: Record<string, string>): string {
  const url = new URL(location, "http://registry.invalid");
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  return url.pathname + url.search;
}

const enc = (s: string) => new TextEncoder().encode(s);
const randomBlob = (size: number) => crypto.getRandomValues(new Uint8Array(size));
// The spec's codes, and distribution's for 416 and a bad `n` (clients know them).
const ERROR_CODES = [
  "RANGE_INVALID", "PAGINATION_NUMBER_INVALID",
  "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID", "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID",
  "MANIFEST_UNKNOWN", "MANIFEST_UNVERIFIED", "NAME_INVALID", "NAME_UNKNOWN", "SIZE_INVALID", "TAG_INVALID", "UNAUTHORIZED",
  "DENIED", "UNSUPPORTED",
];

/** An error answer: the spec's envelope with a known code. */
function expectErrorEnvelope(a: Answer, code?: string) {
  expect(a.headers.get("content-type")).toStartWith("application/json");
  expect(Array.isArray(a.json?.errors) && a.json.errors.length > 0).toBe(true);
  expect(ERROR_CODES).toContain(a.json.errors[0].code);
  if (code) expect(a.json.errors[0].code).toBe(code);
}

// --- test data shaped like the suite's --------------------------------------

interface Content {
  bytes: Uint8Array;
  digest: Digest;
  length: string;
}

const content = (bytes: Uint8Array, algorithm: RegisteredAlgorithm = "sha256"): Content => ({
  bytes,
  digest: digestOf(bytes, algorithm),
  length: String(bytes.byteLength),
});

/** Indented JSON, as Go's MarshalIndent writes the suite's manifests. */
const indented = (value: unknown) => content(enc(JSON.stringify(value, null, "\t")));

const REPO = "conformance/repo1";
const CROSS = "conformance/repo2";
// A gzip'd tar with one small file, as the suite's layer.
const layer = content(Bun.gzipSync(enc("test.txt\0you bothered to find out what was in here. Congratulations!\n")));
// One config and one manifest per workflow (pull, push, discovery, management, referrers' subject).
const configs = Array.from({ length: 5 }, (_, i) =>
  indented({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, author: `conformance-${i}-${crypto.randomUUID()}` }),
);
const manifests = configs.map((config) =>
  indented({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: {
      mediaType: MediaType.ociConfig,
      digest: config.digest,
      size: config.bytes.byteLength,
      // The suite embeds the config (data) and a field no spec defines: both must be accepted.
      data: Buffer.from(config.bytes).toString("base64"),
      newUnspecifiedField: Buffer.from("hello world").toString("base64"),
    },
    layers: [{ mediaType: MediaType.ociLayerGzip, size: layer.bytes.byteLength, digest: layer.digest }],
  }),
);
// No mediaType field at all, and no layers.
const emptyLayerManifest = indented({
  schemaVersion: 2,
  config: { mediaType: MediaType.ociConfig, digest: configs[1]!.digest, size: configs[1]!.bytes.byteLength },
  layers: [],
});
const dummyDigest = digestOf("hello world");
const blobA = content(randomBlob(42));
const emptyJson = content(enc("{}"));
const refBlobA = content(enc("NHL Peanut Butter on my NHL bagel"));
const refBlobB = content(enc("NBA Strawberry Jam on my NBA croissant"));
const typeA = "application/vnd.nhl.peanut.butter.bagel";
const typeB = "application/vnd.nba.strawberry.jam.croissant";
const typeIndex = "application/vnd.food.stand";
const ANNOTATION = "org.opencontainers.conformance.test";
const subjectOf = (m: Content) => ({ mediaType: MediaType.ociManifest, size: m.bytes.byteLength, digest: m.digest });
const emptyDescriptor = { mediaType: EMPTY_JSON.mediaType, size: 2, digest: EMPTY_JSON.digest };
const refsAConfig = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: typeA, size: refBlobA.bytes.byteLength, digest: refBlobA.digest },
  subject: subjectOf(manifests[4]!),
  layers: [emptyDescriptor],
  annotations: { [ANNOTATION]: "test config a" },
});
const refsBConfig = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: typeB, size: refBlobB.bytes.byteLength, digest: refBlobB.digest },
  subject: subjectOf(manifests[4]!),
  layers: [emptyDescriptor],
  annotations: { [ANNOTATION]: "test config b" },
});
const refsALayer = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  artifactType: typeA,
  config: emptyDescriptor,
  subject: subjectOf(manifests[4]!),
  layers: [{ mediaType: typeA, size: refBlobA.bytes.byteLength, digest: refBlobA.digest }],
  annotations: { [ANNOTATION]: "test layer a" },
});
const refsBLayer = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  artifactType: typeB,
  config: emptyDescriptor,
  subject: subjectOf(manifests[4]!),
  layers: [{ mediaType: typeB, size: refBlobB.bytes.byteLength, digest: refBlobB.digest }],
  annotations: { [ANNOTATION]: "test layer b" },
});
// Same as B, with a subject that is never pushed.
const refsCLayer = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  artifactType: typeB,
  config: emptyDescriptor,
  subject: subjectOf(manifests[3]!),
  layers: [{ mediaType: typeB, size: refBlobB.bytes.byteLength, digest: refBlobB.digest }],
});
const refsIndex = indented({
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  artifactType: typeIndex,
  manifests: [subjectOf(refsAConfig), subjectOf(refsALayer)],
  subject: subjectOf(manifests[4]!),
  annotations: { [ANNOTATION]: "test index" },
});
const annotationOf: Record<string, string> = {
  [refsAConfig.digest]: "test config a",
  [refsBConfig.digest]: "test config b",
  [refsALayer.digest]: "test layer a",
  [refsBLayer.digest]: "test layer b",
  [refsIndex.digest]: "test index",
};

// --- the four workflows -------------------------------------------------------

/** POST then PUT ?digest= with the body, as the suite's setup steps push. */
async function postPut(r: Registry, repo: string, blob: Content): Promise<Answer> {
  const post = await call(r, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  expect(post.status).toBe(202);
  return call(r, withQuery(post.headers.get("location")!, { digest: blob.digest }), {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream", "Content-Length": blob.length },
    body: blob.bytes,
  });
}

async function putManifest(r: Registry, repo: string, reference: string, m: Content, mediaType: string = MediaType.ociManifest) {
  return call(r, `/v2/${repo}/manifests/${reference}`, { method: "PUT", headers: { "Content-Type": mediaType }, body: m.bytes });
}

const is2xx = (status: number) => status >= 200 && status < 300;

/** Registers the four workflows as tests, against a registry `open` starts. */
export function conformanceWorkflows(open: OpenRegistry): void {
  describe("conformance: the four workflows, in order, on one repository", () => {
    let r: Registry;
    beforeAll(async () => {
      r = await open();
    });
    afterAll(async () => {
      await r[Symbol.asyncDispose]();
    });

    describe("pull", () => {
      test("setup: two configs, the layer, a manifest by tag and one by digest", async () => {
        for (const blob of [configs[0]!, configs[1]!, layer]) expect(is2xx((await postPut(r, REPO, blob)).status)).toBe(true);
        expect(is2xx((await putManifest(r, REPO, "tagtest0", manifests[0]!)).status)).toBe(true);
        expect(is2xx((await putManifest(r, REPO, manifests[1]!.digest, manifests[1]!)).status)).toBe(true);
      });

      test("blobs: HEAD and GET of a missing blob are 404; of an existing one 200 with its digest", async () => {
        const headMissing = await call(r, `/v2/${REPO}/blobs/${dummyDigest}`, { method: "HEAD" });
        expect([headMissing.status, headMissing.body.byteLength]).toEqual([404, 0]);
        const getMissing = await call(r, `/v2/${REPO}/blobs/${dummyDigest}`);
        expect(getMissing.status).toBe(404);
        expectErrorEnvelope(getMissing, "BLOB_UNKNOWN");

        const head = await call(r, `/v2/${REPO}/blobs/${configs[0]!.digest}`, { method: "HEAD" });
        expect([head.status, head.body.byteLength]).toEqual([200, 0]);
        expect(head.headers.get("docker-content-digest")).toBe(configs[0]!.digest);
        expect(head.headers.get("content-length")).toBe(configs[0]!.length);
        const get = await call(r, `/v2/${REPO}/blobs/${configs[0]!.digest}`);
        expect(get.status).toBe(200);
        expect(get.text).toBe(new TextDecoder().decode(configs[0]!.bytes));
      });

      test("manifests: a missing (even invalid) reference is 404; by digest and tag 200 with the digest", async () => {
        // The suite's "nonexistent manifest" is `.INVALID_MANIFEST_NAME`, not a valid tag: a read of it is 404.
        for (const method of ["HEAD", "GET"]) {
          const missing = await call(r, `/v2/${REPO}/manifests/.INVALID_MANIFEST_NAME`, { method, headers: { Accept: MediaType.ociManifest } });
          expect([method, missing.status]).toEqual([method, 404]);
          if (method === "GET") expectErrorEnvelope(missing, "MANIFEST_UNKNOWN");
        }
        for (const method of ["HEAD", "GET"]) {
          for (const [reference, m] of [
            [manifests[0]!.digest, manifests[0]!],
            [manifests[1]!.digest, manifests[1]!],
            ["tagtest0", manifests[0]!],
          ] as const) {
            const a = await call(r, `/v2/${REPO}/manifests/${reference}`, { method, headers: { Accept: MediaType.ociManifest } });
            expect([method, reference, a.status, a.headers.get("docker-content-digest")]).toEqual([method, reference, 200, m.digest]);
            expect(a.headers.get("content-type")).toBe(MediaType.ociManifest);
            expect(a.headers.get("content-length")).toBe(m.length);
            expect(a.body.byteLength).toBe(method === "HEAD" ? 0 : m.bytes.byteLength);
          }
        }
      });

      test("error codes: a malformed digest reference is 400 with a spec error code (or 404)", async () => {
        const a = await call(r, `/v2/${REPO}/manifests/sha256:totallywrong`, {
          headers: { "Content-Type": MediaType.ociManifest },
        });
        expect(a.status).toBe(400);
        expectErrorEnvelope(a, "DIGEST_INVALID");
        // The legacy suite PUT the same reference with an invalid body.
        const put = await call(r, `/v2/${REPO}/manifests/sha256:totallywrong`, {
          method: "PUT",
          headers: { "Content-Type": MediaType.ociManifest },
          body: "blablabla",
        });
        expect(put.status).toBe(400);
        expectErrorEnvelope(put);
      });

      test("teardown: manifests then blobs are deleted (202)", async () => {
        for (const m of [manifests[0]!, manifests[1]!]) expect((await call(r, `/v2/${REPO}/manifests/${m.digest}`, { method: "DELETE" })).status).toBe(202);
        for (const b of [configs[0]!, configs[1]!, layer]) expect((await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "DELETE" })).status).toBe(202);
      });
    });

    describe("push", () => {
      let last: Answer;
      let previous: Answer;
      let chunked: { blob: Content; chunk1: Uint8Array; chunk2: Uint8Array; range1: string; range2: string };

      test("streamed: PATCH with the blob is 202; PUT ?digest= without a body is 201 with a Location", async () => {
        const post = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST" });
        expect(post.headers.get("location")).toBeTruthy();
        const patch = await call(r, post.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream" },
          body: blobA.bytes,
        });
        expect(patch.status).toBe(202);
        expect(patch.body.byteLength).toBe(0);
        const put = await call(r, withQuery(patch.headers.get("location")!, { digest: blobA.digest }), {
          method: "PUT",
          headers: { "Content-Type": "application/octet-stream" },
        });
        expect([put.status, put.body.byteLength, put.headers.get("docker-content-digest")]).toEqual([201, 0, blobA.digest]);
        expect(put.headers.get("location")).toBe(`/v2/${REPO}/blobs/${blobA.digest}`);
      });

      test("monolithic: POST ?digest= with the body is 201 and the blob is there; POST then PUT likewise", async () => {
        expect((await call(r, `/v2/${REPO}/blobs/${dummyDigest}`)).status).toBe(404);
        const post = await call(r, withQuery(`/v2/${REPO}/blobs/uploads/`, { digest: configs[1]!.digest }), {
          method: "POST",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": configs[1]!.length },
          body: configs[1]!.bytes,
        });
        expect(post.status).toBe(201);
        expect(post.headers.get("location")).toBe(`/v2/${REPO}/blobs/${configs[1]!.digest}`);
        expect((await call(r, `/v2/${REPO}/blobs/${configs[1]!.digest}`)).status).toBe(200);

        const session = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST" });
        expect(session.status).toBe(202);
        const put = await call(r, withQuery(session.headers.get("location")!, { digest: configs[1]!.digest }), {
          method: "PUT",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": configs[1]!.length },
          body: configs[1]!.bytes,
        });
        expect([put.status, put.headers.get("location")]).toEqual([201, `/v2/${REPO}/blobs/${configs[1]!.digest}`]);
        expect((await postPut(r, REPO, layer)).status).toBe(201);
        expect((await call(r, `/v2/${REPO}/blobs/${layer.digest}`)).status).toBe(200);
      });

      test("chunked: a chunk out of order is 416", async () => {
        const post = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
        expect(post.headers.get("location")).toBeTruthy();
        // The suite sizes its chunks to the advertised minimum: the first is the minimum, the last shorter.
        const min = Number(post.headers.get("oci-chunk-min-length") ?? 0);
        const size = Math.max(42, min * 2 - 2);
        const blob = content(randomBlob(size));
        const cut = Math.max(Math.floor(size / 2) + 1, min);
        chunked = {
          blob,
          chunk1: blob.bytes.subarray(0, cut),
          chunk2: blob.bytes.subarray(cut),
          range1: `0-${cut - 1}`,
          range2: `${cut}-${size - 1}`,
        };
        const patch = await call(r, post.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": String(chunked.chunk2.byteLength), "Content-Range": chunked.range2 },
          body: chunked.chunk2,
        });
        expect(patch.status).toBe(416);
        expectErrorEnvelope(patch);
        // Where the session stands, so a client can resume.
        expect(patch.headers.get("location")).toBe(post.headers.get("location"));
        expect(patch.headers.get("range")).toBe("0-0");
      });

      test("chunked: the first chunk is 202 with the Range it covers; sent again, 416", async () => {
        const post = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
        previous = post;
        const patch = await call(r, post.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": String(chunked.chunk1.byteLength), "Content-Range": chunked.range1 },
          body: chunked.chunk1,
        });
        expect(patch.status).toBe(202);
        expect(patch.headers.get("range")).toBe(chunked.range1);
        last = patch;
        const again = await call(r, previous.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": String(chunked.chunk1.byteLength), "Content-Range": chunked.range1 },
          body: chunked.chunk1,
        });
        expect(again.status).toBe(416);
      });

      test("chunked: GET on the session is 204 with Location and Range; the second chunk 202; PUT ?digest= 201", async () => {
        const status = await call(r, previous.headers.get("location")!);
        expect([status.status, status.body.byteLength]).toEqual([204, 0]);
        expect(status.headers.get("location")).toBeTruthy();
        expect(status.headers.get("range")).toBe(chunked.range1);
        const patch = await call(r, status.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Length": String(chunked.chunk2.byteLength), "Content-Range": chunked.range2, "Content-Type": "application/octet-stream" },
          body: chunked.chunk2,
        });
        expect(patch.status).toBe(202);
        expect(patch.headers.get("location")).toBeTruthy();
        const put = await call(r, withQuery(patch.headers.get("location")!, { digest: chunked.blob.digest }), {
          method: "PUT",
          headers: { "Content-Length": "0", "Content-Type": "application/octet-stream" },
        });
        expect(put.status).toBe(201);
        expect(put.headers.get("location")).toBe(`/v2/${REPO}/blobs/${chunked.blob.digest}`);
        const got = await call(r, `/v2/${REPO}/blobs/${chunked.blob.digest}`);
        expect(Buffer.compare(got.body, chunked.blob.bytes)).toBe(0);
        void last;
      });

      test("chunked (legacy suite): the final chunk in the PUT, with its Content-Range, is 201", async () => {
        const post = await call(r, `/v2/${REPO}/blobs/uploads/`, { method: "POST", headers: { "Content-Length": "0" } });
        const patch = await call(r, post.headers.get("location")!, {
          method: "PATCH",
          headers: { "Content-Type": "application/octet-stream", "Content-Length": String(chunked.chunk1.byteLength), "Content-Range": chunked.range1 },
          body: chunked.chunk1,
        });
        expect(patch.status).toBe(202);
        const put = await call(r, withQuery(patch.headers.get("location")!, { digest: chunked.blob.digest }), {
          method: "PUT",
          headers: { "Content-Length": String(chunked.chunk2.byteLength), "Content-Range": chunked.range2, "Content-Type": "application/octet-stream" },
          body: chunked.chunk2,
        });
        expect([put.status, put.headers.get("location")]).toEqual([201, `/v2/${REPO}/blobs/${chunked.blob.digest}`]);
      });

      test("cross-repository mount: without from, a missing blob gets a session (202); with from, 201 and the blob is there", async () => {
        const noFrom = await call(r, withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: dummyDigest }), { method: "POST" });
        expect(noFrom.status).toBe(202);
        expect(noFrom.headers.get("location")).toStartWith(`/v2/${CROSS}/blobs/uploads/`);

        const mount = await call(r, withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: blobA.digest, from: REPO }), { method: "POST" });
        expect(mount.status).toBe(201);
        expect(mount.headers.get("location")).toBe(`/v2/${CROSS}/blobs/${blobA.digest}`);
        expect((await call(r, mount.headers.get("location")!)).status).toBe(200);
        // Automatic content discovery: without from, a blob the registry holds mounts as well.
        const anonymous = await call(r, withQuery(`/v2/conformance/repo3/blobs/uploads/`, { mount: blobA.digest }), { method: "POST" });
        expect([anonymous.status, anonymous.headers.get("location")]).toEqual([201, `/v2/conformance/repo3/blobs/${blobA.digest}`]);
        // A source that does not hold the blob: a session to upload into instead.
        const missing = await call(r, withQuery(`/v2/${CROSS}/blobs/uploads/`, { mount: dummyDigest, from: REPO }), { method: "POST" });
        expect(missing.status).toBe(202);
        expect(missing.headers.get("location")).toStartWith(`/v2/${CROSS}/blobs/uploads/`);
      });

      test("manifest upload: PUT by four tags, an image with no layers, GET by digest", async () => {
        expect((await call(r, `/v2/${REPO}/manifests/.INVALID_MANIFEST_NAME`)).status).toBe(404);
        for (let i = 0; i < 4; i++) {
          const put = await putManifest(r, REPO, `test${i}`, manifests[1]!);
          expect([put.status, put.headers.get("location")]).toEqual([201, `/v2/${REPO}/manifests/${manifests[1]!.digest}`]);
          expect(put.headers.get("docker-content-digest")).toBe(manifests[1]!.digest);
        }
        const empty = await putManifest(r, REPO, "emptylayer", emptyLayerManifest);
        expect([empty.status, empty.headers.get("location")]).toEqual([201, `/v2/${REPO}/manifests/${emptyLayerManifest.digest}`]);
        const get = await call(r, `/v2/${REPO}/manifests/${manifests[1]!.digest}`, { headers: { Accept: MediaType.ociManifest } });
        expect(get.status).toBe(200);
      });

      test("teardown: manifests, then blobs", async () => {
        for (const d of [manifests[1]!.digest, emptyLayerManifest.digest]) {
          expect((await call(r, `/v2/${REPO}/manifests/${d}`, { method: "DELETE" })).status).toBe(202);
        }
        for (const b of [configs[1]!, layer]) expect((await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "DELETE" })).status).toBe(202);
      });
    });

    describe("content discovery", () => {
      let tags: string[];

      test("setup: a config, the layer, four tags, and the referrers of a subject pushed before and after it", async () => {
        for (const b of [configs[2]!, layer]) expect((await postPut(r, REPO, b)).status).toBe(201);
        for (let i = 0; i < 4; i++) expect((await putManifest(r, REPO, `test${i}`, manifests[2]!)).status).toBe(201);
        for (const b of [emptyJson, refBlobA]) expect((await postPut(r, REPO, b)).status).toBe(201);
        // Referrers pushed before their subject exists: OCI-Subject all the same.
        for (const m of [refsAConfig, refsALayer]) {
          const put = await putManifest(r, REPO, m.digest, m);
          expect([put.status, put.headers.get("oci-subject")]).toEqual([201, manifests[4]!.digest]);
        }
        const index = await putManifest(r, REPO, refsIndex.digest, refsIndex, MediaType.ociIndex);
        expect([index.status, index.headers.get("oci-subject")]).toEqual([201, manifests[4]!.digest]);
        for (const b of [configs[4]!, layer]) expect((await postPut(r, REPO, b)).status).toBe(201);
        expect((await putManifest(r, REPO, "tagtest0", manifests[4]!)).status).toBe(201);
        expect((await postPut(r, REPO, refBlobB)).status).toBe(201);
        for (const m of [refsBConfig, refsBLayer]) {
          const put = await putManifest(r, REPO, m.digest, m);
          expect([put.status, put.headers.get("oci-subject")]).toEqual([201, manifests[4]!.digest]);
        }
        const toMissing = await putManifest(r, REPO, refsCLayer.digest, refsCLayer);
        expect([toMissing.status, toMissing.headers.get("oci-subject")]).toEqual([201, manifests[3]!.digest]);
      });

      test("tag list: 200, sorted; n limits it with a Link to the rest; last starts after a tag", async () => {
        const all = await call(r, `/v2/${REPO}/tags/list`);
        expect(all.status).toBe(200);
        expect(all.json.name).toBe(REPO);
        tags = all.json.tags;
        expect(tags).toEqual(["tagtest0", "test0", "test1", "test2", "test3"]);
        const half = Math.floor(tags.length / 2);
        const page = await call(r, `/v2/${REPO}/tags/list?n=${half}`);
        expect([page.status, page.json.tags]).toEqual([200, tags.slice(0, half)]);
        expect(page.headers.get("link")).toBe(`</v2/${REPO}/tags/list?n=${half}&last=${tags[half - 1]}>; rel="next"`);
        const next = await call(r, `/v2/${REPO}/tags/list?n=${half}&last=${tags[half - 1]}`);
        expect([next.status, next.json.tags]).toEqual([200, tags.slice(half, half * 2)]);
        const rest = await call(r, `/v2/${REPO}/tags/list?last=${tags[half - 1]}`);
        expect(rest.json.tags).toEqual(tags.slice(half));
        // The last page has no Link.
        const tail = await call(r, `/v2/${REPO}/tags/list?n=${tags.length}`);
        expect([tail.json.tags, tail.headers.get("link")]).toEqual([tags, null]);
        // n=0 is an empty list, not an error.
        const none = await call(r, `/v2/${REPO}/tags/list?n=0`);
        expect([none.status, none.json.tags]).toEqual([200, []]);
      });

      test("referrers: an unknown subject is an empty index; the subject lists five, each with its annotation", async () => {
        const empty = await call(r, `/v2/${REPO}/referrers/${dummyDigest}`);
        expect([empty.status, empty.headers.get("content-type")]).toEqual([200, MediaType.ociIndex]);
        expect(empty.json).toEqual({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] });

        const all = await call(r, `/v2/${REPO}/referrers/${manifests[4]!.digest}`);
        expect([all.status, all.headers.get("content-type")]).toEqual([200, MediaType.ociIndex]);
        expect(all.json.schemaVersion).toBe(2);
        expect(all.json.mediaType).toBe(MediaType.ociIndex);
        expect(all.headers.get("oci-filters-applied")).toBeNull();
        const entries = all.json.manifests as { digest: string; mediaType: string; size: number; artifactType: string; annotations: Record<string, string> }[];
        expect(entries).toHaveLength(5);
        const expected = [
          { m: refsAConfig, mediaType: MediaType.ociManifest, artifactType: typeA },
          { m: refsALayer, mediaType: MediaType.ociManifest, artifactType: typeA },
          { m: refsIndex, mediaType: MediaType.ociIndex, artifactType: typeIndex },
          { m: refsBConfig, mediaType: MediaType.ociManifest, artifactType: typeB },
          { m: refsBLayer, mediaType: MediaType.ociManifest, artifactType: typeB },
        ];
        for (const e of expected) {
          expect(entries).toContainEqual({
            mediaType: e.mediaType,
            digest: e.m.digest,
            size: e.m.bytes.byteLength,
            artifactType: e.artifactType,
            annotations: { [ANNOTATION]: annotationOf[e.m.digest]! },
          });
        }
      });

      test("referrers: filtered by artifactType (OCI-Filters-Applied), and of a subject that was never pushed", async () => {
        const filtered = await call(r, `/v2/${REPO}/referrers/${manifests[4]!.digest}?artifactType=${encodeURIComponent(typeA)}`);
        expect([filtered.status, filtered.headers.get("content-type"), filtered.headers.get("oci-filters-applied")]).toEqual([
          200,
          MediaType.ociIndex,
          "artifactType",
        ]);
        expect((filtered.json.manifests as { digest: string }[]).map((m) => m.digest).sort()).toEqual([refsAConfig.digest, refsALayer.digest].sort());
        const missing = await call(r, `/v2/${REPO}/referrers/${manifests[3]!.digest}`);
        expect([missing.status, missing.headers.get("content-type")]).toEqual([200, MediaType.ociIndex]);
        expect((missing.json.manifests as { digest: string }[]).map((m) => m.digest)).toEqual([refsCLayer.digest]);
      });

      test("teardown: manifests and tags (by digest and by tag), then blobs", async () => {
        // The suite deletes the tag through the digest route: DELETE /manifests/tagtest0.
        for (const reference of [refsIndex.digest, manifests[2]!.digest, manifests[4]!.digest, refsAConfig.digest, refsALayer.digest, "tagtest0"]) {
          // 404 for the tag: deleting manifests[4] by digest took its tag along.
          const a = await call(r, `/v2/${REPO}/manifests/${reference}`, { method: "DELETE" });
          expect([reference, a.status]).toEqual([reference, reference === "tagtest0" ? 404 : 202]);
        }
        for (const reference of [refsBConfig.digest, refsBLayer.digest, refsCLayer.digest]) {
          expect((await call(r, `/v2/${REPO}/manifests/${reference}`, { method: "DELETE" })).status).toBe(202);
        }
        // Deleted by digest: its tags went with it.
        expect((await call(r, `/v2/${REPO}/manifests/test0`, { method: "HEAD" })).status).toBe(404);
        for (const b of [configs[2]!, layer]) expect((await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "DELETE" })).status).toBe(202);
        for (const b of [configs[4]!, refBlobA, refBlobB, emptyJson]) {
          expect([202, 404]).toContain((await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "DELETE" })).status);
        }
      });
    });

    describe("content management", () => {
      let before: number;

      test("setup: a config, the layer, a tag", async () => {
        for (const b of [configs[3]!, layer]) expect((await postPut(r, REPO, b)).status).toBe(201);
        expect((await putManifest(r, REPO, "tagtest0", manifests[3]!)).status).toBe(201);
        const list = await call(r, `/v2/${REPO}/tags/list`);
        expect(list.status).toBe(200);
        before = list.json.tags.length;
        expect(before).toBeGreaterThan(0);
      });

      test("DELETE of a tag is 202; of the manifest by digest 202; then GET is 404 and the tag list shrinks", async () => {
        const tag = await call(r, `/v2/${REPO}/manifests/tagtest0`, { method: "DELETE" });
        expect([tag.status, tag.body.byteLength]).toEqual([202, 0]);
        // The manifest outlives its tag.
        expect((await call(r, `/v2/${REPO}/manifests/${manifests[3]!.digest}`, { method: "HEAD" })).status).toBe(200);
        expect((await call(r, `/v2/${REPO}/manifests/${manifests[3]!.digest}`, { method: "DELETE" })).status).toBe(202);
        const gone = await call(r, `/v2/${REPO}/manifests/${manifests[3]!.digest}`, { headers: { Accept: MediaType.ociManifest } });
        expect(gone.status).toBe(404);
        expectErrorEnvelope(gone, "MANIFEST_UNKNOWN");
        const list = await call(r, `/v2/${REPO}/tags/list`);
        // The last tag of the repository went: an empty list (the repository is still known) or 404.
        expect([200, 404]).toContain(list.status);
        expect((list.json?.tags ?? []).length).toBeLessThan(before);
        // Deleting again: 404.
        expect((await call(r, `/v2/${REPO}/manifests/${manifests[3]!.digest}`, { method: "DELETE" })).status).toBe(404);
        expect((await call(r, `/v2/${REPO}/manifests/tagtest0`, { method: "DELETE" })).status).toBe(404);
      });

      test("DELETE of blobs is 202; then GET is 404", async () => {
        for (const b of [configs[3]!, layer]) {
          const a = await call(r, `/v2/${REPO}/blobs/${b.digest}`, { method: "DELETE" });
          expect([a.status, a.body.byteLength]).toEqual([202, 0]);
        }
        const gone = await call(r, `/v2/${REPO}/blobs/${configs[3]!.digest}`);
        expect(gone.status).toBe(404);
        expectErrorEnvelope(gone, "BLOB_UNKNOWN");
        expect((await call(r, `/v2/${REPO}/blobs/${configs[3]!.digest}`, { method: "DELETE" })).status).toBe(404);
      });
    });
  });
}
