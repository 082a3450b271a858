/** Dropped connections and proxies, with raw sockets where HTTP servers are too polite. */
import { expect, test } from "bun:test";
import { RegistryClient } from "../../../src/client/index.ts";
import { digestOf } from "../../../src/digest/index.ts";
import { fakeServer, json } from "./fake-server.ts";

const fast = { retry: { baseDelayMs: 1, maxDelayMs: 20 }, certDirs: [], env: {} };

/** A TCP server that drops the first `drops` connections mid-request, then answers like a registry. */
function flakyServer(drops: number) {
  let connections = 0;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        connections++;
        (socket as unknown as { data: number }).data = connections;
      },
      data(socket, data) {
        if (!new TextDecoder().decode(data).includes("\r\n\r\n")) return;
        if ((socket as unknown as { data: number }).data <= drops) {
          socket.end();
          return;
        }
        const body = '{"repositories":["ok"]}';
        socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
      },
    },
  });
  return { host: `127.0.0.1:${listener.port}`, connections: () => connections, stop: () => listener.stop(true) };
}

test("a connection dropped before the answer is retried", async () => {
  const server = flakyServer(2);
  try {
    const client = RegistryClient.open(`http://${server.host}`, fast);
    expect(await client.repositories()).toEqual(["ok"]);
    expect(server.connections()).toBe(3);
  } finally {
    server.stop();
  }
});

test("a registry that keeps dropping connections: a clear error after the attempts", async () => {
  const server = flakyServer(100);
  try {
    const client = RegistryClient.open(`http://${server.host}`, { ...fast, retry: { attempts: 3, baseDelayMs: 1 } });
    const error = await client.repositories().catch((e) => e);
    expect(error.code).toBe("UNAVAILABLE");
    expect(error.message).toStartWith(`Cannot reach registry ${server.host}: `);
    expect(server.connections()).toBe(3);
  } finally {
    server.stop();
  }
});

test("requests go through an explicit HTTP proxy; loopback registries never do", async () => {
  // A forward proxy sees absolute-form request targets and answers for the registry.
  using proxy = fakeServer((request) => json({ repositories: [`via proxy: ${new URL(request.url).host}`] }));
  const client = RegistryClient.open("http://registry.invalid:5000", { ...fast, proxy: proxy.url });
  expect(await client.repositories()).toEqual(["via proxy: registry.invalid:5000"]);
  expect(proxy.requests.length).toBe(1);
  using direct = fakeServer(() => json({ repositories: ["direct"] }));
  expect(await RegistryClient.open(direct.host, { ...fast, proxy: proxy.url }).repositories()).toEqual(["direct"]);
  expect(proxy.requests.length).toBe(1);
});

test("an abort stops the client at once", async () => {
  const controller = new AbortController();
  // The server never answers the catalog; the user interrupts once it is asked.
  using slow = fakeServer((request) => {
    if (new URL(request.url).pathname === "/v2/") return json({});
    controller.abort(new Error("stop now"));
    return new Promise<Response>(() => undefined);
  });
  const client = RegistryClient.open(slow.host, { ...fast, signal: controller.signal });
  expect(((await client.repositories().catch((e) => e)) as Error).message).toBe("stop now");
});

test("a registry that refuses connections: host and cause named once, after the retries", async () => {
  // A port that was just free: nobody listens there.
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const host = `127.0.0.1:${listener.port}`;
  listener.stop(true);
  const client = RegistryClient.open(host, { ...fast, retry: { attempts: 3, baseDelayMs: 1 } });
  const data = new TextEncoder().encode("x");
  for (const call of [() => client.tags("acme/app"), () => client.uploadBlob("acme/app", { digest: digestOf(data), size: 1 }, data)]) {
    const error = await call().catch((e) => e);
    expect([error.code, error.message]).toEqual(["UNAVAILABLE", `Cannot reach registry ${host}: connection refused`]);
  }
});
