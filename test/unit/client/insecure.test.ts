/** --insecure for a registry that is not on loopback: HTTPS without verification first, then plain HTTP. */
import { expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { RegistryClient } from "../../../src/client/index.ts";

const address = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

test.skipIf(!address)("plain HTTP only with --insecure when the host is not loopback", async () => {
  using server = Bun.serve({ hostname: "0.0.0.0", port: 0, fetch: () => Response.json({ repositories: ["r"] }) });
  const host = `${address}:${server.port}`;
  const refused = await RegistryClient.open(host, { certDirs: [], env: {}, retry: { attempts: 1 } }).repositories().catch((e) => e);
  expect(refused.code).toBe("UNAVAILABLE");
  expect(refused.message).toStartWith(`Cannot reach registry ${host}: `);
  const client = RegistryClient.open(host, { certDirs: [], env: {}, insecure: true });
  expect(await client.repositories()).toEqual(["r"]);
  expect(await client.transport.scheme()).toBe("http");
});
