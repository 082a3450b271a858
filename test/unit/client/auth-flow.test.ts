import { describe, expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { fakeServer, json, ociError } from "./fake-server.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, certDirs: [], env: {} };
const basic = (user: string, pass: string) => `Basic ${btoa(`${user}:${pass}`)}`;

/** A registry with token auth: /token issues `tok-N` for user:pass (or anonymously when allowed). */
function bearerRegistry(options: { anonymous?: boolean; expiresIn?: number } = {}) {
  let issued = 0;
  const valid = new Map<string, string>();
  const server = fakeServer((request, _body, url) => {
    if (url.pathname === "/token") {
      const auth = request.headers.get("authorization");
      if (auth !== basic("me", "pw") && !(options.anonymous && !auth)) return new Response("no", { status: 401 });
      const token = `tok-${++issued}`;
      valid.set(token, url.searchParams.getAll("scope").join(" "));
      return json({ token, expires_in: options.expiresIn ?? 300 });
    }
    const auth = request.headers.get("authorization") ?? "";
    const token = auth.replace(/^Bearer /, "");
    const scope = url.pathname.startsWith("/v2/app/") ? "repository:app:pull" : "";
    if (!valid.has(token) || (scope && !valid.get(token)!.includes(scope))) {
      return ociError(401, "UNAUTHORIZED", "authentication required");
    }
    if (url.pathname === "/v2/app/tags/list") return json({ name: "app", tags: ["1", "2"] });
    return json({});
  });
  // The challenge names this server's own /token as realm.
  const original = server.requests;
  const wrap = fakeServer(async (request) => {
    const forwarded = await fetch(server.url + new URL(request.url).pathname + new URL(request.url).search, {
      method: request.method,
      headers: request.headers,
    });
    const headers = new Headers(forwarded.headers);
    if (forwarded.status === 401 && !new URL(request.url).pathname.startsWith("/token")) {
      const scope = new URL(request.url).pathname.startsWith("/v2/app/") ? ',scope="repository:app:pull"' : "";
      headers.set("www-authenticate", `Bearer realm="${server.url}/token",service="fake"${scope}`);
    }
    return new Response(forwarded.body, { status: forwarded.status, headers });
  });
  return {
    host: wrap.host,
    tokenRequests: () => original.filter((r) => r.path.startsWith("/token")),
    registryRequests: () => wrap.requests,
    revoke: () => valid.clear(),
    [Symbol.dispose]() {
      wrap.stop();
      server.stop();
    },
  };
}

describe("Bearer tokens", () => {
  test("challenge, token with credentials and scope, then the request", async () => {
    using registry = bearerRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "pw" } });
    expect(await client.tags("app")).toEqual(["1", "2"]);
    const [token] = registry.tokenRequests();
    expect(token!.path).toBe("/token?service=fake&scope=repository%3Aapp%3Apull&account=me");
    expect(token!.headers.authorization).toBe(basic("me", "pw"));
  });

  test("one token per scope, cached across requests and shared by concurrent ones", async () => {
    using registry = bearerRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "pw" } });
    await Promise.all([client.tags("app"), client.tags("app"), client.tags("app")]);
    await client.tags("app");
    expect(registry.tokenRequests().length).toBe(1);
    // After the first challenge, new requests carry the token up front: no 401 round trip.
    const unauthorized = registry.registryRequests().filter((r) => r.path.startsWith("/v2/app/") && !r.headers.authorization);
    expect(unauthorized.length).toBeLessThanOrEqual(3);
    expect(registry.registryRequests().at(-1)!.headers.authorization).toBe("Bearer tok-1");
  });

  test("a revoked token is replaced once, then the request succeeds", async () => {
    using registry = bearerRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "pw" } });
    await client.tags("app");
    registry.revoke();
    expect(await client.tags("app")).toEqual(["1", "2"]);
    expect(registry.tokenRequests().length).toBe(2);
  });

  test("anonymous token when there are no credentials", async () => {
    using registry = bearerRegistry({ anonymous: true });
    const client = RegistryClient.open(registry.host, fast);
    expect(await client.tags("app")).toEqual(["1", "2"]);
    expect(registry.tokenRequests()[0]!.headers.authorization).toBeUndefined();
  });

  test("refused credentials give UNAUTHORIZED naming the user", async () => {
    using registry = bearerRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "wrong" } });
    const error = await client.tags("app").catch((e) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(error.code).toBe("UNAUTHORIZED");
    expect(error.message).toContain('"me"');
  });

  test("identity tokens are exchanged with an OAuth2 refresh-token POST", async () => {
    let form: URLSearchParams | undefined;
    using tokenServer = fakeServer((_request, body) => {
      form = new URLSearchParams(new TextDecoder().decode(body));
      return json({ access_token: "at", expires_in: 60 });
    });
    using registry = fakeServer((request) =>
      request.headers.get("authorization") === "Bearer at"
        ? json({ repositories: ["x"] })
        : new Response(null, { status: 401, headers: { "www-authenticate": `Bearer realm="${tokenServer.url}/oauth",service="svc"` } }),
    );
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { identityToken: "refresh-me" } });
    expect(await client.repositories()).toEqual(["x"]);
    expect(tokenServer.requests[0]!.method).toBe("POST");
    expect(Object.fromEntries(form!)).toEqual({
      grant_type: "refresh_token",
      refresh_token: "refresh-me",
      client_id: "stevedore",
      service: "svc",
      scope: "registry:catalog:*",
    });
  });
});

describe("Basic auth", () => {
  function basicRegistry() {
    return fakeServer((request) =>
      request.headers.get("authorization") === basic("me", "pw")
        ? json({ repositories: ["a", "b"] })
        : new Response("{}", { status: 401, headers: { "www-authenticate": 'Basic realm="Registry Realm"' } }),
    );
  }
  test("answers a Basic challenge, then sends credentials up front", async () => {
    using registry = basicRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "pw" } });
    expect(await client.repositories()).toEqual(["a", "b"]);
    expect(await client.repositories()).toEqual(["a", "b"]);
    expect(registry.requests.filter((r) => r.path.startsWith("/v2/_catalog")).map((r) => r.headers.authorization ?? null)).toEqual([
      null,
      basic("me", "pw"),
      basic("me", "pw"),
    ]);
  });
  test("without credentials: UNAUTHORIZED, asked once", async () => {
    using registry = basicRegistry();
    const client = RegistryClient.open(registry.host, fast);
    const error = await client.repositories().catch((e) => e);
    expect(error.code).toBe("UNAUTHORIZED");
    expect(registry.requests.filter((r) => r.path.startsWith("/v2/_catalog")).length).toBe(1);
  });
  test("wrong credentials are sent once, not in a loop", async () => {
    using registry = basicRegistry();
    const client = RegistryClient.open(registry.host, { ...fast, credentials: { username: "me", password: "no" } });
    const error = await client.checkAccess().catch((e) => e);
    expect(error.code).toBe("UNAUTHORIZED");
    expect(registry.requests.filter((r) => r.path === "/v2/").length).toBeLessThanOrEqual(3);
  });
});
