/** TLS and htpasswd with real clients: skopeo trusts our certificate and logs in; a wrong password is refused. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateImage, type GeneratedManifest, writeOciLayout } from "../../helpers/images.ts";
import { skopeo } from "../../helpers/skopeo.ts";
import { run, selfSignedCertificate, startServe } from "../../helpers/stevedore-serve.ts";

let work: string;
let image: GeneratedManifest;
let layout: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "stevedore-security-"));
  image = await generateImage({ name: "x:1.0", seed: "security", layers: 2, layerSize: 20_000 });
  layout = join(work, "layout");
  await writeOciLayout(layout, [image], { refName: "tag" });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe("TLS", () => {
  test("serves HTTPS with the given certificate; skopeo verifies it against that CA", async () => {
    const { cert, key } = await selfSignedCertificate(work);
    const certDir = join(work, "certs.d");
    mkdirSync(certDir);
    copyFileSync(cert, join(certDir, "ca.crt"));
    await using serve = await startServe({ args: ["--tls-cert", cert, "--tls-key", key] });
    expect(serve.url).toStartWith("https://127.0.0.1:");
    const push = await skopeo(["copy", "--quiet", "--dest-cert-dir", certDir, `oci:${layout}:1.0`, `docker://${serve.host}/secure/app:1.0`]);
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const inspect = await skopeo(["inspect", "--raw", "--cert-dir", certDir, `docker://${serve.host}/secure/app:1.0`]);
    expect(inspect.stdout).toBe(Buffer.from(image.bytes).toString());
    // Without trusting the certificate, a client refuses the connection.
    const untrusted = await skopeo(["inspect", "--raw", `docker://${serve.host}/secure/app:1.0`]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/certificate/i);
  });
});

describe("htpasswd", () => {
  test("the right password pushes and pulls; a wrong one or none is refused with 401", async () => {
    const file = join(work, "htpasswd");
    writeFileSync(file, await run(["htpasswd", "-Bbn", "alice", "s3cret"]));
    await using serve = await startServe({ args: ["--htpasswd", file] });
    const push = await skopeo([
      "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret",
      `oci:${layout}:1.0`, `docker://${serve.host}/private/app:1.0`,
    ]);
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const pull = await skopeo(["inspect", "--raw", "--tls-verify=false", "--creds", "alice:s3cret", `docker://${serve.host}/private/app:1.0`]);
    expect(pull.stdout).toBe(Buffer.from(image.bytes).toString());

    const wrong = await skopeo([
      "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "alice:wrong",
      `oci:${layout}:1.0`, `docker://${serve.host}/private/other:1.0`,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/unauthorized|401|authentication required/i);
    const anonymous = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${serve.host}/private/app:1.0`]);
    expect(anonymous.code).not.toBe(0);
    const challenge = await fetch(`${serve.url}/v2/`);
    expect([challenge.status, challenge.headers.get("www-authenticate")]).toEqual([401, 'Basic realm="stevedore"']);
    // Nothing of the refused push arrived.
    const catalog = await fetch(`${serve.url}/v2/_catalog`, {
      headers: { Authorization: `Basic ${Buffer.from("alice:s3cret").toString("base64")}` },
    });
    expect(await catalog.json()).toEqual({ repositories: ["private/app"] });
  });
});
