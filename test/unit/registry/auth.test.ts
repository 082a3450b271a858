import { describe, expect, test } from "bun:test";
import { BasicAuthenticator, parseHtpasswd } from "../../../src/registry/index.ts";
import { blob } from "../store/fixtures.ts";
import { errorCode, registry } from "./harness.ts";

/** An htpasswd line as `htpasswd -B` writes it ($2y$), at the lowest cost to keep tests fast. */
async function htpasswdLine(user: string, password: string): Promise<string> {
  const hash = await Bun.password.hash(password, { algorithm: "bcrypt", cost: 4 });
  return `${user}:${hash.replace(/^\$2b\$/, "$2y$")}`;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("htpasswd", () => {
  test("bcrypt lines parse; comments and blank lines are skipped", async () => {
    const line = await htpasswdLine("alice", "s3cret");
    const users = parseHtpasswd(`# users\n\n${line}\n`);
    expect([...users.keys()]).toEqual(["alice"]);
  });

  test("other hash schemes and malformed lines are refused, naming the line", () => {
    expect(() => parseHtpasswd("bob:$apr1$abc$def", "users.htpasswd")).toThrow(
      'users.htpasswd:1: user "bob" has no bcrypt hash; create entries with "htpasswd -B"',
    );
    expect(() => parseHtpasswd("\nnocolon")).toThrow(":2: expected user:hash");
    expect(() => parseHtpasswd("carol:{SHA}abcdef")).toThrow("no bcrypt hash");
  });
});

describe("basic auth on the registry", () => {
  test("no or wrong credentials get 401 with a Basic challenge; right ones pass", async () => {
    const auth = new BasicAuthenticator(parseHtpasswd(await htpasswdLine("alice", "s3cret")));
    await using r = await registry({ auth });
    for (const authorization of [undefined, basic("alice", "wrong"), basic("mallory", "s3cret"), "Basic !!!", "Bearer abc"]) {
      const res = await r.request("/v2/", authorization ? { headers: { Authorization: authorization } } : {});
      expect([authorization, res.status, res.headers.get("www-authenticate")]).toEqual([authorization, 401, 'Basic realm="stevedore"']);
      expect(await errorCode(res)).toBe("UNAUTHORIZED");
    }
    const ok = await r.request("/v2/", { headers: { Authorization: basic("alice", "s3cret") } });
    expect(ok.status).toBe(200);
    // Writes are refused before anything is read or stored.
    const b = blob("secret layer");
    const push = await r.request(`/v2/app/blobs/uploads/?digest=${b.digest}`, { method: "POST", body: b.bytes });
    expect(push.status).toBe(401);
    expect(await r.store.statBlob("app", b.digest)).toBeUndefined();
  });

  test("a verified credential is cached: bcrypt runs once for many requests", async () => {
    const users = parseHtpasswd(await htpasswdLine("alice", "s3cret"));
    const auth = new BasicAuthenticator(users);
    const original = Bun.password.verify;
    let calls = 0;
    Bun.password.verify = ((...args: Parameters<typeof original>) => {
      calls++;
      return original(...args);
    }) as typeof original;
    try {
      const header = basic("alice", "s3cret");
      const results = await Promise.all(Array.from({ length: 20 }, () => auth.verify(header)));
      expect(results.every((u) => u === "alice")).toBe(true);
      expect(calls).toBe(1);
      // Expired entries are checked again; failures are never cached.
      expect(await auth.verify(header, Date.now() + 120_000)).toBe("alice");
      expect(calls).toBe(2);
      await auth.verify(basic("alice", "nope"));
      await auth.verify(basic("alice", "nope"));
      expect(calls).toBe(4);
    } finally {
      Bun.password.verify = original;
    }
  });
});
