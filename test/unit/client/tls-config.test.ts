import { afterEach, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { loadTlsSettings, registryEndpoint } from "../../../src/client/index.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-tls-"));
  dirs.push(dir);
  return dir;
}
const endpoint = registryEndpoint("site.example:5000");

test("no material: verification on, system roots", () => {
  expect(loadTlsSettings(endpoint, { certDirs: [tempDir()] })).toEqual({ rejectUnauthorized: true, hasMaterial: false });
  expect(loadTlsSettings(endpoint, { certDirs: [], insecure: true })).toEqual({ rejectUnauthorized: false, hasMaterial: false });
});

test("certs.d/HOST:PORT: every .crt is a CA added to the roots, NAME.cert pairs with NAME.key", () => {
  const docker = tempDir();
  const containers = tempDir();
  mkdirSync(join(docker, "site.example:5000"));
  writeFileSync(join(docker, "site.example:5000", "ca.crt"), "CA-ONE");
  writeFileSync(join(docker, "site.example:5000", "client.cert"), "CLIENT-CERT");
  writeFileSync(join(docker, "site.example:5000", "client.key"), "CLIENT-KEY");
  mkdirSync(join(containers, "site.example:5000"));
  writeFileSync(join(containers, "site.example:5000", "extra.crt"), "CA-TWO");
  mkdirSync(join(containers, "other:5000"));
  writeFileSync(join(containers, "other:5000", "ca.crt"), "NOT-MINE");
  const settings = loadTlsSettings(endpoint, { certDirs: [containers, docker] });
  expect(settings.ca).toEqual([...rootCertificates, "CA-TWO", "CA-ONE"]);
  expect(settings).toMatchObject({ cert: "CLIENT-CERT", key: "CLIENT-KEY", rejectUnauthorized: true, hasMaterial: true });
});

test("explicit files come first; a cert without its key is refused", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "ca.pem"), "MY-CA");
  writeFileSync(join(dir, "c.pem"), "C");
  writeFileSync(join(dir, "k.pem"), "K");
  const settings = loadTlsSettings(endpoint, { certDirs: [], caCert: join(dir, "ca.pem"), clientCert: join(dir, "c.pem"), clientKey: join(dir, "k.pem") });
  expect(settings.ca?.at(-1)).toBe("MY-CA");
  expect(settings).toMatchObject({ cert: "C", key: "K" });
  expect(() => loadTlsSettings(endpoint, { certDirs: [], clientCert: join(dir, "c.pem") })).toThrow("both the certificate and the key");
  expect(() => loadTlsSettings(endpoint, { certDirs: [], caCert: join(dir, "missing.pem") })).toThrow(`Cannot read CA certificate ${JSON.stringify(join(dir, "missing.pem"))}: no such file`);
  mkdirSync(join(dir, "certs", "site.example:5000"), { recursive: true });
  writeFileSync(join(dir, "certs", "site.example:5000", "lonely.cert"), "C");
  expect(() => loadTlsSettings(endpoint, { certDirs: [join(dir, "certs")] })).toThrow("has no key lonely.key beside it");
});
