import { describe, expect, test } from "bun:test";
import {
  authKeyFor,
  backoffDelay,
  candidateSchemes,
  isLoopbackHost,
  isRetryableStatus,
  nextLink,
  parseChallenges,
  parseCredentials,
  parseRetryAfter,
  pickChallenge,
  registryEndpoint,
  registryOfAuthKey,
} from "../../../src/client/index.ts";

describe("WWW-Authenticate", () => {
  test("a Bearer challenge with realm, service and scope", () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" } },
    ]);
  });
  test("several challenges, quoted escapes and unquoted values", () => {
    const challenges = parseChallenges('Basic realm="a \\"quoted\\" realm", Bearer realm=https://t/x,service=s');
    expect(challenges).toEqual([
      { scheme: "basic", params: { realm: 'a "quoted" realm' } },
      { scheme: "bearer", params: { realm: "https://t/x", service: "s" } },
    ]);
    expect(pickChallenge(challenges)?.scheme).toBe("bearer");
  });
  test("empty or missing header", () => {
    expect(parseChallenges(null)).toEqual([]);
    expect(parseChallenges("")).toEqual([]);
    expect(pickChallenge([])).toBeUndefined();
  });
});

describe("Link pagination", () => {
  test("finds rel=next among other links", () => {
    expect(nextLink('</v2/_catalog?last=b&n=2>; rel="next"')).toBe("/v2/_catalog?last=b&n=2");
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next?a=1,2>; rel="next"')).toBe("https://x/next?a=1,2");
    expect(nextLink("<https://x/next>; rel=next")).toBe("https://x/next");
    expect(nextLink('<https://x/prev>; rel="prev"')).toBeUndefined();
    expect(nextLink(null)).toBeUndefined();
  });
});

describe("retry policy", () => {
  test("retries what can change, never 4xx auth or not-found", () => {
    expect([408, 429, 500, 502, 503, 504].map(isRetryableStatus)).toEqual([true, true, true, true, true, true]);
    expect([400, 401, 403, 404, 416, 501, 505].map(isRetryableStatus)).toEqual([false, false, false, false, false, false, false]);
  });
  test("Retry-After as seconds or a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(parseRetryAfter("soon")).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
  test("jittered exponential backoff, capped, Retry-After wins", () => {
    const policy = { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(policy, 1, undefined, () => 0)).toBe(50);
    expect(backoffDelay(policy, 1, undefined, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, undefined, () => 1)).toBe(400);
    expect(backoffDelay(policy, 10, undefined, () => 1)).toBe(1000);
    expect(backoffDelay(policy, 1, 700)).toBe(700);
    expect(backoffDelay(policy, 1, 60_000)).toBe(1000);
  });
});

describe("registry endpoints", () => {
  test("host, port, IPv6, schemes and Docker Hub", () => {
    expect(registryEndpoint("localhost:5000")).toEqual({ registry: "localhost:5000", apiHost: "localhost:5000", hostname: "localhost", loopback: true, forcedScheme: undefined });
    expect(registryEndpoint("[::1]:5000").loopback).toBe(true);
    expect(registryEndpoint("127.1.2.3").loopback).toBe(true);
    expect(registryEndpoint("registry.example:443").loopback).toBe(false);
    expect(registryEndpoint("http://Registry.Example:8080/").forcedScheme).toBe("http");
    expect(registryEndpoint("http://Registry.Example:8080/").registry).toBe("registry.example:8080");
    expect(registryEndpoint("docker://site:5000").registry).toBe("site:5000");
    expect(registryEndpoint("index.docker.io").apiHost).toBe("registry-1.docker.io");
    expect(registryEndpoint("docker.io").registry).toBe("docker.io");
    expect(authKeyFor(registryEndpoint("docker.io"))).toBe("https://index.docker.io/v1/");
  });
  test("bad registry names are refused with the reason", () => {
    expect(() => registryEndpoint("ftp://x")).toThrow("unknown scheme");
    expect(() => registryEndpoint("a b")).toThrow("expected host[:port]");
    expect(() => registryEndpoint("host:99999")).toThrow("out of range");
  });
  test("loopback detection", () => {
    expect(["localhost", "LOCALHOST", "a.localhost", "127.0.0.1", "127.255.0.9", "::1", "[::1]"].map(isLoopbackHost)).toEqual(Array(7).fill(true));
    expect(["128.0.0.1", "10.0.0.1", "localhost.example", "::2", "example"].map(isLoopbackHost)).toEqual(Array(5).fill(false));
  });
  test("schemes to try", () => {
    expect(candidateSchemes(registryEndpoint("localhost:5000"), {})).toEqual(["http", "https"]);
    expect(candidateSchemes(registryEndpoint("localhost:5000"), { hasTlsMaterial: true })).toEqual(["https", "http"]);
    expect(candidateSchemes(registryEndpoint("site:5000"), {})).toEqual(["https"]);
    expect(candidateSchemes(registryEndpoint("site:5000"), { insecure: true })).toEqual(["https", "http"]);
    expect(candidateSchemes(registryEndpoint("http://site:5000"), {})).toEqual(["http"]);
  });
  test("auth file keys", () => {
    expect(registryOfAuthKey("https://index.docker.io/v1/")).toBe("docker.io");
    expect(registryOfAuthKey("https://site:5000/v2/")).toBe("site:5000");
    expect(registryOfAuthKey("site:5000")).toBe("site:5000");
    expect(registryOfAuthKey("not a host")).toBeUndefined();
  });
});

test("USER:PASS credentials", () => {
  expect(parseCredentials("me:se:cret")).toEqual({ username: "me", password: "se:cret" });
  expect(() => parseCredentials("nopassword")).toThrow("USER:PASSWORD");
  expect(() => parseCredentials(":x")).toThrow("USER:PASSWORD");
});
