/**
 * With htpasswd auth on, every route of the Distribution API refuses a
 * missing, wrong or malformed credential: a table over the registry's own
 * route list (METHODS in routes.ts), so a route added later is in it or
 * this test fails. Refused requests change nothing in the store. And the
 * check does not leak through time: an unknown user costs a bcrypt of the
 * users' cost, as a wrong password does.
 */
import { describe, expect, test } from "bun:test";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { BasicAuthenticator, parseHtpasswd } from "../../../src/registry/index.ts";
import { matchRoute, METHODS, type Route } from "../../../src/registry/routes.ts";
import { blob, configBlob, imageManifest } from "../store/fixtures.ts";
import { registry } from "./harness.ts";

const USER = "alice";
const PASSWORD = "correct horse battery staple";
const basic = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;

async function authenticator(cost = 4): Promise<BasicAuthenticator> {
  const hash = (await Bun.password.hash(PASSWORD, { algorithm: "bcrypt", cost })).replace(/^\$2b\$/, "$2y$");
  return new BasicAuthenticator(parseHtpasswd(`${USER}:${hash}\n`));
}

const layer = blob("route auth layer");
const config = configBlob();
const manifest = imageManifest(config, [layer]);
const UUID = "0f0e0d0c-0b0a-4909-8807-060504030201";

/** A request path for each endpoint. Typed by Route["kind"]: a new kind without a sample does not compile. */
const SAMPLES: Record<Route["kind"], string> = {
  base: "/v2/",
  catalog: "/v2/_catalog",
  tags: "/v2/secret/app/tags/list",
  manifest: "/v2/secret/app/manifests/1.0",
  blob: `/v2/secret/app/blobs/${layer.digest}`,
  uploads: `/v2/secret/app/blobs/uploads/?digest=${layer.digest}`,
  upload: `/v2/secret/app/blobs/uploads/${UUID}?digest=${layer.digest}`,
  referrers: `/v2/secret/app/referrers/${manifest.digest}`,
};

const BAD_CREDENTIALS: [string, string | undefined][] = [
  ["none", undefined],
  ["wrong password", basic(`${USER}:wrong`)],
  ["unknown user", basic(`mallory:${PASSWORD}`)],
  ["empty password", basic(`${USER}:`)],
  ["no colon", basic(`${USER}${PASSWORD}`)],
  ["not base64", "Basic !!!not-base64!!!"],
  ["empty", ""],
  ["scheme only", "Basic"],
  ["bearer", "Bearer abc.def.ghi"],
  ["password with a NUL", basic(`${USER}:${PASSWORD}\u0000`)],
  ["very long", basic(`${USER}:${"x".repeat(64 * 1024)}`)],
];

function body(kind: Route["kind"], method: string): RequestInit["body"] | undefined {
  if (method === "PUT" && kind === "manifest") return manifest.bytes;
  if (["PUT", "POST", "PATCH"].includes(method)) return layer.bytes;
  return undefined;
}

describe("every route refuses bad credentials", () => {
  test("the sample table covers the route list, each sample matching its route", () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(METHODS).sort());
    for (const [kind, path] of Object.entries(SAMPLES)) expect(matchRoute(path.split("?")[0]!)?.kind).toBe(kind as Route["kind"]);
  });

  test("missing, wrong and malformed credentials: 401 with a challenge on every route and method; nothing changes", async () => {
    await using r = await registry({ auth: await authenticator() });
    // Content to read and to aim at: pushed with the right credentials.
    const good = { Authorization: basic(`${USER}:${PASSWORD}`) };
    for (const b of [config, layer]) {
      const res = await r.request(`/v2/secret/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes, headers: good });
      expect(res.status).toBe(201);
    }
    expect((await r.request("/v2/secret/app/manifests/1.0", { method: "PUT", body: manifest.bytes, headers: { ...good, "Content-Type": manifest.mediaType } })).status).toBe(201);
    const before = await snapshot(r.dir.path);

    const wrong: string[] = [];
    let requests = 0;
    for (const [kind, methods] of Object.entries(METHODS) as [Route["kind"], readonly string[]][]) {
      for (const method of methods) {
        for (const [name, authorization] of BAD_CREDENTIALS) {
          const init: RequestInit = { method, headers: authorization === undefined ? {} : { Authorization: authorization } };
          const b = body(kind, method);
          if (b !== undefined) init.body = b;
          const res = await r.request(SAMPLES[kind], init);
          requests++;
          const challenge = res.headers.get("www-authenticate");
          const text = method === "HEAD" ? "" : await res.text();
          if (res.status !== 401 || challenge !== 'Basic realm="stevedore"' || (method !== "HEAD" && !text.includes('"UNAUTHORIZED"'))) {
            wrong.push(`${method} ${SAMPLES[kind]} with ${name}: ${res.status} ${challenge} ${text.slice(0, 100)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(requests).toBeGreaterThan(200);
    // Not a byte written, not a row changed.
    expect(await snapshot(r.dir.path)).toEqual(before);
    expect(await (await r.request("/v2/secret/app/tags/list", { headers: good })).json()).toEqual({ name: "secret/app", tags: ["1.0"] });
  });

  test("the right credentials pass every route (whatever the route then answers, it is not 401)", async () => {
    await using r = await registry({ auth: await authenticator() });
    const good = basic(`${USER}:${PASSWORD}`);
    for (const [kind, methods] of Object.entries(METHODS) as [Route["kind"], readonly string[]][]) {
      for (const method of methods) {
        const init: RequestInit = { method, headers: { Authorization: good } };
        const b = body(kind, method);
        if (b !== undefined) init.body = b;
        const res = await r.request(SAMPLES[kind], init);
        expect({ method, kind, status: res.status === 401 ? 401 : "not 401" }).toEqual({ method, kind, status: "not 401" });
        await res.arrayBuffer();
      }
    }
  });
});

describe("no timing oracle", () => {
  test("an unknown user costs one bcrypt at the users' cost, like a wrong password", async () => {
    const auth = await authenticator(6);
    const original = Bun.password.verify;
    const costs: string[] = [];
    Bun.password.verify = ((password: string, hash: string, algorithm?: "bcrypt") => {
      costs.push(/^\$2[aby]\$(\d\d)\$/.exec(hash)?.[1] ?? "?");
      return original(password, hash, algorithm);
    }) as typeof original;
    try {
      expect(await auth.verify(basic(`mallory:${PASSWORD}`))).toBeUndefined();
      expect(await auth.verify(basic(`${USER}:wrong`))).toBeUndefined();
      expect(await auth.verify(basic(`nobody:`))).toBeUndefined();
      expect(await auth.verify(basic(`${USER}:${PASSWORD}`))).toBe(USER);
    } finally {
      Bun.password.verify = original;
    }
    expect(costs).toEqual(["06", "06", "06", "06"]);
  });
});

/** Every file under the store root with its size, and the metadata's row counts: what a refused request must not change. */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith("metadata.db")) continue;
    const path = join(entry.parentPath, entry.name);
    out.push(`${path.slice(root.length)} ${Bun.file(path).size}`);
  }
  return out.sort();
}
