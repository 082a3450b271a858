import { expect, test } from "bun:test";
import { TokenCache } from "../../../src/client/token-cache.ts";

const challenge = { scheme: "bearer", params: { realm: "https://auth/token", service: "svc" } };

test("tokens are renewed shortly before they expire, per scope set", async () => {
  let now = 1_000_000;
  let n = 0;
  const cache = new TokenCache(async () => ({ token: `t${++n}`, expiresInSeconds: 100 }), () => now);
  expect(await cache.get(challenge, ["b", "a"])).toBe("t1");
  expect(await cache.get(challenge, ["a", "b", "a"])).toBe("t1");
  expect(await cache.get(challenge, ["a"])).toBe("t2");
  now += 89_000;
  expect(await cache.get(challenge, ["a", "b"])).toBe("t1");
  // Inside the last 10% of its life the token is replaced, not handed out.
  now += 2_000;
  expect(await cache.get(challenge, ["a", "b"])).toBe("t3");
});

test("a token without expires_in lives 60 s; failures are not cached; forget drops one token", async () => {
  let now = 0;
  let n = 0;
  let fail = true;
  const cache = new TokenCache(async () => {
    if (fail) throw new Error("token server down");
    return { token: `t${++n}` };
  }, () => now);
  expect(cache.get(challenge, ["s"])).rejects.toThrow("token server down");
  fail = false;
  expect(await cache.get(challenge, ["s"])).toBe("t1");
  now = 53_000;
  expect(await cache.get(challenge, ["s"])).toBe("t1");
  now = 55_000;
  expect(await cache.get(challenge, ["s"])).toBe("t2");
  cache.forget("Bearer t2");
  expect(await cache.get(challenge, ["s"])).toBe("t3");
});
