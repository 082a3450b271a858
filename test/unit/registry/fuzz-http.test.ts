/**
 * Fuzzing the registry's HTTP surface in-process (app.request), seeded
 * (FUZZ_SEED replays) and time-bounded, with a minimum count so a slow
 * machine cannot make a test a no-op. Whatever comes in, the answer is a
 * client error or a correct success, never a 500, and never a state the
 * answers did not promise:
 *
 * - `Range` on blob reads: 200 with the whole blob, 206 with exactly the
 *   bytes its Content-Range names, or 416;
 * - `Content-Range` / `Content-Length` on upload chunks: the session's
 *   offset moves exactly by the chunks that got 202;
 * - pagination `n` / `last` on the catalog and tag lists: sorted pages of
 *   what exists, after `last`; following Link headers lists everything once;
 * - manifest PUTs of mutated manifests: 201 and the same bytes back, or a
 *   4xx and nothing stored;
 * - random paths and methods: no 500.
 */
import { describe, expect, test } from "bun:test";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { MediaType } from "../../../src/oci/index.ts";
import { fuzzSeed, seededRandom, type SeededRandom } from "../../helpers/seeded-random.ts";
import { blob, configBlob, imageIndex, imageManifest } from "../store/fixtures.ts";
import { registry } from "./harness.ts";

const SEED = fuzzSeed();

/** Run `body` at least `min` times and for at least `ms` milliseconds. */
async function fuzz(min: number, ms: number, body: (i: number) => Promise<void>): Promise<number> {
  const deadline = performance.now() + ms;
  let i = 0;
  for (; i < min || performance.now() < deadline; i++) await body(i);
  return i;
}

const NUMBERS = ["0", "1", "2", "9", "10", "99", "100", "255", "256", "4095", "4096", "-1", "+1", " 1", "1 ", "01", "1.5", "1e3", "0x10", "", "9007199254740991", "9007199254740993", "99999999999999999999", "NaN", "Infinity", "٣", "１"];

function rangeHeader(rng: SeededRandom, size: number): string {
  const number = () => (rng.int(3) === 0 ? rng.pick(NUMBERS) : String(rng.int(size * 2 + 2)));
  const shapes = [
    () => `bytes=${number()}-${number()}`,
    () => `bytes=${number()}-`,
    () => `bytes=-${number()}`,
    () => `bytes=${number()}-${number()},${number()}-${number()}`,
    () => `bytes = ${number()}-${number()}`,
    () => `items=${number()}-${number()}`,
    () => `bytes=${number()}`,
    () => `${number()}-${number()}`,
    () => rng.pick(["", "bytes=", "bytes=-", "bytes=--", "bytes=0--1", "BYTES=0-1", "bytes=\t0-1", "bytes=0-1\u0000"]),
  ];
  return rng.pick(shapes)();
}

describe("Range on blob reads", () => {
  test("200 with all of it, 206 with exactly the bytes named, or 416; never anything else", async () => {
    await using r = await registry();
    const rng = seededRandom(SEED);
    const bytes = rng.bytes(3000);
    const b = blob(bytes);
    await r.pushBlob("fuzz/app", b);
    const count = await fuzz(400, 300, async () => {
      const header = rangeHeader(rng, b.size);
      let res: Response;
      try {
        res = await r.request(`/v2/fuzz/app/blobs/${b.digest}`, { headers: { Range: header } });
      } catch (error) {
        // A header fetch itself refuses (e.g. a NUL) never reaches us.
        if (error instanceof TypeError) return;
        throw error;
      }
      const body = new Uint8Array(await res.arrayBuffer());
      const where = `Range ${JSON.stringify(header)} (FUZZ_SEED=${SEED})`;
      if (res.status === 200) {
        expect({ where, same: Buffer.from(body).equals(Buffer.from(bytes)) }).toEqual({ where, same: true });
      } else if (res.status === 206) {
        const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get("content-range") ?? "");
        expect({ where, match: !!match }).toEqual({ where, match: true });
        const [start, end, total] = [Number(match![1]), Number(match![2]), Number(match![3])];
        expect({ where, total, ordered: start <= end && end < total, length: res.headers.get("content-length") }).toEqual({
          where,
          total: b.size,
          ordered: true,
          length: String(end - start + 1),
        });
        expect({ where, same: Buffer.from(body).equals(Buffer.from(bytes.subarray(start, end + 1))) }).toEqual({ where, same: true });
      } else {
        expect({ where, status: res.status, range: res.headers.get("content-range") }).toEqual({ where, status: 416, range: `bytes */${b.size}` });
      }
    });
    expect(count).toBeGreaterThanOrEqual(400);
  });
});

describe("Content-Range and Content-Length on upload chunks", () => {
  test("the session's offset moves exactly by the accepted chunks; the blob, once finished, is intact", async () => {
    await using r = await registry();
    const rng = seededRandom(SEED + 1);
    const count = await fuzz(25, 300, async (i) => {
      const content = rng.bytes(rng.between(1, 5000));
      const b = blob(content);
      const start = await r.request("/v2/fuzz/chunks/blobs/uploads/", { method: "POST" });
      expect(start.status).toBe(202);
      const location = start.headers.get("location")!;
      let offset = 0;
      for (let step = 0; step < 12 && offset < content.length; step++) {
        const honest = rng.int(3) > 0;
        const length = rng.between(1, Math.max(1, content.length - offset));
        const chunk = content.subarray(offset, offset + length);
        const headers: Record<string, string> = {};
        if (honest) {
          headers["Content-Range"] = `${offset}-${offset + chunk.length - 1}`;
        } else {
          const lie = () => (rng.int(2) === 0 ? rng.pick(NUMBERS) : String(offset + rng.between(-3, 3)));
          if (rng.int(2) === 0) headers["Content-Range"] = rng.pick([`${lie()}-${lie()}`, `bytes ${lie()}-${lie()}/*`, `bytes=${lie()}-${lie()}`, lie(), ""]);
          if (rng.int(2) === 0) headers["Content-Length"] = lie();
        }
        let res: Response;
        try {
          res = await r.request(location, { method: "PATCH", body: chunk, headers });
        } catch (error) {
          if (error instanceof TypeError) continue;
          throw error;
        }
        const where = `upload ${i} step ${step} ${JSON.stringify(headers)} at ${offset} (FUZZ_SEED=${SEED})`;
        expect({ where, server: res.status >= 500 }).toEqual({ where, server: false });
        if (res.status === 202) offset += chunk.length;
        await res.arrayBuffer();
        const status = await r.request(location);
        expect({ where, range: status.headers.get("range") }).toEqual({ where, range: `0-${Math.max(offset - 1, 0)}` });
      }
      // Finish with what is left; the stored blob is exactly the content.
      const rest = content.subarray(offset);
      const done = await r.request(`${location}?digest=${b.digest}`, {
        method: "PUT",
        body: rest,
        headers: rest.length ? { "Content-Range": `${offset}-${content.length - 1}` } : {},
      });
      expect(done.status).toBe(201);
      const back = new Uint8Array(await (await r.request(`/v2/fuzz/chunks/blobs/${b.digest}`)).arrayBuffer());
      expect(digestOf(back)).toBe(b.digest);
    });
    expect(count).toBeGreaterThanOrEqual(25);
  });
});

describe("pagination", () => {
  test("n and last: sorted pages of what exists after last, or 400; Link headers walk everything once", async () => {
    await using r = await registry();
    const rng = seededRandom(SEED + 2);
    const config = configBlob();
    const names = ["a", "a-b", "a.b", "a/b", "a/b/c", "a0", "b", "z", "zz/top", "0", "9/x"];
    const tags = ["1", "1.0", "1.0.0", "A", "Z", "_", "a", "latest", "v1", "v10", "v2"];
    for (const name of names) await r.pushBlob(name, config);
    const m = imageManifest(config, []);
    for (const name of names) await r.pushManifest(name, "latest", m);
    for (const tag of tags) await r.pushManifest("a", tag, m);
    const sorted = (list: string[]) => [...list].sort((x, y) => (Buffer.from(x) < Buffer.from(y) ? -1 : Buffer.from(x) > Buffer.from(y) ? 1 : 0));
    const allNames = sorted(names);
    const allTags = sorted(tags);
    const lasts = () =>
      rng.pick([undefined, "", "a", "a/", "a/b", "zzz", "0", "\u0000", "é", "a%2Fb", "../a", "a".repeat(5000), String.fromCodePoint(0x1f600), rng.pick(names), rng.pick(tags)]);
    const count = await fuzz(300, 300, async () => {
      const catalog = rng.int(2) === 0;
      const n = rng.int(3) === 0 ? rng.pick(NUMBERS) : rng.int(2) === 0 ? undefined : String(rng.int(14));
      const last = lasts();
      const query = new URLSearchParams();
      if (n !== undefined) query.set("n", n);
      if (last !== undefined) query.set("last", last);
      const path = catalog ? "/v2/_catalog" : "/v2/a/tags/list";
      const res = await r.request(`${path}?${query}`);
      const where = `${path}?${query.toString().slice(0, 100)} (FUZZ_SEED=${SEED})`;
      if (res.status === 400) {
        const body = (await res.json()) as { errors: { code: string }[] };
        expect({ where, code: body.errors[0]!.code }).toEqual({ where, code: "PAGINATION_NUMBER_INVALID" });
        return;
      }
      expect({ where, status: res.status }).toEqual({ where, status: 200 });
      const body = (await res.json()) as { repositories?: string[]; tags?: string[] };
      const got = (catalog ? body.repositories : body.tags)!;
      const universe = catalog ? allNames : allTags;
      const after = last ? universe.filter((x) => Buffer.from(x) > Buffer.from(last)) : universe;
      // A page is a prefix of what comes after `last`.
      expect({ where, got }).toEqual({ where, got: after.slice(0, got.length) });
    });
    expect(count).toBeGreaterThanOrEqual(300);
    // Following Link: everything exactly once, whatever the page size.
    for (const n of [1, 2, 3, 7, 100]) {
      for (const [start, key, universe] of [
        ["/v2/_catalog", "repositories", allNames],
        ["/v2/a/tags/list", "tags", allTags],
      ] as const) {
        const seen: string[] = [];
        let next: string | undefined = `${start}?n=${n}`;
        for (let pages = 0; next && pages < 50; pages++) {
          const res = await r.request(next);
          seen.push(...((await res.json()) as Record<string, string[]>)[key]!);
          next = /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];
        }
        expect({ n, start, seen }).toEqual({ n, start, seen: universe });
      }
    }
  });
});

describe("manifest PUTs of mutated manifests", () => {
  test("201 and the same bytes back, or a 4xx and nothing stored; never a 500", async () => {
    await using r = await registry();
    const rng = seededRandom(SEED + 3);
    const config = configBlob();
    const layers = [blob("fuzz layer one"), blob("fuzz layer two")];
    for (const b of [config, ...layers]) await r.pushBlob("fuzz/m", b);
    const image = imageManifest(config, layers);
    await r.pushManifest("fuzz/m", image.digest, image);
    const index = imageIndex([{ ...image, platform: { os: "linux", architecture: "amd64" } }]);
    const seeds = [image, index, imageManifest(config, layers, { subject: { mediaType: image.mediaType, digest: image.digest, size: image.size } })];
    const types = [...Object.values(MediaType), "application/json", "", "text/plain", "application/vnd.oci.image.manifest.v1+json; charset=utf-8"];
    let created = 0;
    const stored = new Set<string>([image.digest]);
    const count = await fuzz(300, 400, async (i) => {
      const seed = rng.pick(seeds);
      const bytes = mutate(rng, seed.bytes);
      const type = rng.int(4) === 0 ? rng.pick(types) : seed.mediaType;
      const digest = digestOf(bytes) as Digest;
      const reference = rng.int(2) === 0 ? digest : rng.pick(["t", "latest", "v1.0", "-bad", "a".repeat(129), `sha256:${"0".repeat(64)}`]);
      const res = await r.request(`/v2/fuzz/m/manifests/${reference}`, { method: "PUT", body: bytes as Uint8Array<ArrayBuffer>, headers: type ? { "Content-Type": type } : {} });
      const where = `#${i} ${reference} ${type} ${new TextDecoder().decode(bytes).slice(0, 120)} (FUZZ_SEED=${SEED})`;
      expect({ where, server: res.status >= 500 }).toEqual({ where, server: false });
      const get = await r.request(`/v2/fuzz/m/manifests/${digest}`);
      if (res.status === 201) {
        created++;
        stored.add(digest);
        expect({ where, digest: res.headers.get("docker-content-digest") }).toEqual({ where, digest });
        expect({ where, same: Buffer.from(await get.arrayBuffer()).equals(Buffer.from(bytes)) }).toEqual({ where, same: true });
      } else {
        await res.arrayBuffer();
        // Refused, and not stored under its digest (unless an earlier accepted push stored the same bytes).
        expect({ where, visible: get.status === 200 }).toEqual({ where, visible: stored.has(digest) });
        await get.arrayBuffer();
      }
    });
    expect(count).toBeGreaterThanOrEqual(300);
    expect(created).toBeGreaterThan(0);
  });
});

describe("random paths and methods", () => {
  test("no 500, whatever the path", async () => {
    await using r = await registry();
    const rng = seededRandom(SEED + 4);
    const pieces = ["v2", "", ".", "..", "%2e%2e", "%2E%2E", "%2f", "a", "A", "a-b", "_catalog", "tags", "list", "manifests", "blobs", "uploads", "referrers", "sha256:" + "a".repeat(64), "sha256:", "%00", "\u00e9", "%", "%zz", "a".repeat(300), "latest", "00000000-0000-0000-0000-000000000000", "..%2f..%2fetc", "\\", "%5c"];
    const methods = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];
    const count = await fuzz(500, 300, async () => {
      const path = `/${Array.from({ length: rng.between(1, 7) }, () => rng.pick(pieces)).join("/")}`;
      const method = rng.pick(methods);
      let res: Response;
      try {
        res = await r.request(path, { method, ...(["PUT", "POST", "PATCH"].includes(method) ? { body: rng.bytes(rng.int(64)) } : {}) });
      } catch (error) {
        if (error instanceof TypeError) return;
        throw error;
      }
      const where = `${method} ${path.slice(0, 200)} (FUZZ_SEED=${SEED})`;
      expect({ where, server: res.status >= 500 }).toEqual({ where, server: false });
      await res.arrayBuffer();
    });
    expect(count).toBeGreaterThanOrEqual(500);
  });
});

function mutate(rng: SeededRandom, bytes: Uint8Array): Uint8Array {
  if (rng.int(4) === 0) return bytes;
  const text = new TextDecoder().decode(bytes);
  const edits = [
    () => text.replace(/"size": \d+/, `"size": ${rng.pick(["-1", "0", "1e309", "1.5", "9007199254740993", '"3"', "null"])}`),
    () => text.replace(/sha256:[0-9a-f]{64}/, rng.pick(["sha256:../../etc/passwd", "sha256:" + "0".repeat(64), "md5:abc", "", "sha512:" + "a".repeat(128)])),
    () => text.replace(/"schemaVersion": 2/, `"schemaVersion": ${rng.pick(["1", "3", '"2"', "null"])}`),
    () => text.replace(/"mediaType": "[^"]*"/, `"mediaType": ${rng.pick(['""', '"x"', "5", JSON.stringify(MediaType.dockerManifestList)])}`),
    () => text.slice(0, rng.int(text.length)),
    () => text.replace("{", `{"annotations": {"${"k".repeat(rng.int(2000))}": "v"},`),
    () => text.replace("{", `{"subject": {"mediaType": "x", "digest": "sha256:${"1".repeat(64)}", "size": 1},`),
    () => `${text}\n`,
  ];
  let out = text;
  for (let n = rng.between(1, 2); n > 0; n--) out = rng.pick(edits)();
  return new TextEncoder().encode(out);
}
