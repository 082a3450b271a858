/**
 * The client against a real CNCF registry (docker-registry), filled by
 * skopeo: reads what skopeo wrote, writes what skopeo then reads.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryClient } from "../../../src/client/index.ts";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { MediaType, OciError } from "../../../src/oci/index.ts";
import { type DockerRegistry, startDockerRegistry } from "../../helpers/docker-registry.ts";
import { generateArtifact, generateImage, generateMultiArch, type GeneratedManifest, randomBytes } from "../../helpers/images.ts";
import { pushImages, skopeo } from "../../helpers/skopeo.ts";

const base = { certDirs: [], env: {}, retry: { baseDelayMs: 10 } };
let registry: DockerRegistry;
let image: GeneratedManifest;
let multi: GeneratedManifest;

beforeAll(async () => {
  registry = await startDockerRegistry();
  image = await generateImage({ name: "x", seed: "client-it", layers: 2, layerSize: 50_000 });
  multi = await generateMultiArch("y", { seed: "client-it-multi" });
  await pushImages(registry.host, [
    { image, repository: "acme/app", tag: "1.0" },
    { image: multi, repository: "library/multi", tag: "2.0" },
  ]);
});
afterAll(() => registry?.stop());

describe("reading what skopeo pushed", () => {
  test("catalog, tags, manifests by tag and digest, blobs", async () => {
    const client = RegistryClient.open(registry.host, base);
    await client.ping();
    expect(await client.repositories()).toEqual(["acme/app", "library/multi"]);
    expect(await client.tags("acme/app")).toEqual(["1.0"]);
    const head = await client.headManifest("acme/app", "1.0");
    expect(head).toEqual({ mediaType: MediaType.ociManifest, digest: image.descriptor.digest, size: image.bytes.byteLength });
    const manifest = await client.getManifest("acme/app", "1.0");
    expect(manifest.bytes).toEqual(image.bytes);
    const index = await client.getManifest("library/multi", multi.descriptor.digest);
    expect(index).toEqual({ digest: multi.descriptor.digest, mediaType: MediaType.ociIndex, bytes: multi.bytes });
    const layer = image.blobs[1]!;
    expect(await client.headBlob("acme/app", layer.descriptor.digest)).toBe(layer.descriptor.size);
    const got = new Uint8Array(await new Response(await client.getBlob("acme/app", layer.descriptor.digest)).arrayBuffer());
    expect(digestOf(got)).toBe(layer.descriptor.digest);
    const part = new Uint8Array(await new Response(await client.getBlob("acme/app", layer.descriptor.digest, { start: 100, end: 200 })).arrayBuffer());
    expect(part).toEqual(layer.bytes.subarray(100, 200));
  });

  test("absent things are the right OciError codes", async () => {
    const client = RegistryClient.open(registry.host, base);
    expect(await client.headManifest("acme/app", "9.9")).toBeUndefined();
    expect(await client.headBlob("acme/app", digestOf("nothing"))).toBeUndefined();
    const noManifest = await client.getManifest("acme/app", "9.9").catch((e) => e);
    expect([noManifest.constructor, noManifest.code]).toEqual([OciError, "MANIFEST_UNKNOWN"]);
    const noRepo = await client.tags("nobody/here").catch((e) => e);
    expect(noRepo.code).toBe("NAME_UNKNOWN");
    const noBlob = await client.getBlob("acme/app", digestOf("nothing")).catch((e) => e);
    expect(noBlob.code).toBe("BLOB_UNKNOWN");
  });
});

describe("writing what skopeo then reads", () => {
  test("blob upload (PUT, chunked, POST), mount, manifest push, referrers fallback, delete", async () => {
    const client = RegistryClient.open(registry.host, base);
    const own = await generateImage({ name: "z", seed: "client-it-own", layers: 3, layerSize: 200_000 });
    const [config, l0, l1, l2] = own.blobs as [typeof own.blobs[0], typeof own.blobs[0], typeof own.blobs[0], typeof own.blobs[0]];
    const file = join(mkdtempSync(join(tmpdir(), "stevedore-blob-")), "layer");
    await Bun.write(file, l0.bytes);
    try {
      await client.uploadBlob("mine/app", l0.descriptor, Bun.file(file));
    } finally {
      rmSync(join(file, ".."), { recursive: true, force: true });
    }
    await client.uploadBlob("mine/app", l1.descriptor, new Blob([l1.bytes]).stream(), { chunkSize: 64 * 1024 });
    await client.uploadBlob("mine/app", l2.descriptor, l2.bytes, { monolithicPost: true });
    await client.uploadBlob("mine/app", config.descriptor, config.bytes);
    const digest = await client.putManifest("mine/app", "v1", { bytes: own.bytes, mediaType: MediaType.ociManifest });
    expect(digest).toBe(own.descriptor.digest);

    // Mount from another repository of the same registry: 201, no bytes sent.
    expect(await client.mountBlob("mine/copy", "mine/app", l0.descriptor.digest)).toEqual({ mounted: true });
    expect(await client.headBlob("mine/copy", l0.descriptor.digest)).toBe(l0.descriptor.size);
    const notThere = await client.mountBlob("mine/copy", "mine/app", digestOf("absent"));
    expect(notThere.mounted).toBe(false);

    const inspected = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/mine/app:v1`]);
    expect(inspected.stdout).toBe(new TextDecoder().decode(own.bytes));
    const copied = await skopeo(["copy", "--src-tls-verify=false", `docker://${registry.host}/mine/app:v1`, `dir:${join(registry.dir, "check")}`]);
    expect(copied.stderr).toBe("");
    expect(copied.code).toBe(0);

    // distribution 2.8 has no referrers API: the client falls back to the sha256-<hex> tag index.
    expect(await client.referrers("mine/app", own.descriptor.digest)).toEqual([]);
    const signature = generateArtifact(own);
    for (const blob of signature.blobs) await client.uploadBlob("mine/app", blob.descriptor, blob.bytes);
    await client.putManifest("mine/app", signature.descriptor.digest, { bytes: signature.bytes, mediaType: MediaType.ociManifest });
    const fallback = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [signature.descriptor] }));
    await client.putManifest("mine/app", own.descriptor.digest.replace(":", "-"), { bytes: fallback, mediaType: MediaType.ociIndex });
    expect(await client.referrers("mine/app", own.descriptor.digest)).toEqual([signature.descriptor]);

    await client.deleteManifest("mine/app", signature.descriptor.digest);
    expect(await client.headManifest("mine/app", signature.descriptor.digest)).toBeUndefined();
  });

  test("a blob whose bytes do not match is refused by the registry", async () => {
    const client = RegistryClient.open(registry.host, base);
    const error = await client.uploadBlob("mine/bad", { digest: digestOf("something else") as Digest, size: 5 }, randomBytes("x", 5)).catch((e) => e);
    expect(error.code).toBe("DIGEST_INVALID");
  });
});

describe("auth and TLS against the real registry", () => {
  test("htpasswd: anonymous refused, right credentials accepted, wrong ones refused", async () => {
    await using secured = await startDockerRegistry({ auth: { username: "alice", password: "s3cret" } });
    await pushImages(secured.host, [{ image, repository: "acme/app", tag: "1.0" }], { creds: "alice:s3cret" });
    const anonymous = await RegistryClient.open(secured.host, base).tags("acme/app").catch((e) => e);
    expect(anonymous.code).toBe("UNAUTHORIZED");
    const client = RegistryClient.open(secured.host, { ...base, credentials: { username: "alice", password: "s3cret" } });
    await client.checkAccess();
    expect(await client.tags("acme/app")).toEqual(["1.0"]);
    const wrong = await RegistryClient.open(secured.host, { ...base, credentials: { username: "alice", password: "nope" } }).checkAccess().catch((e) => e);
    expect(wrong.code).toBe("UNAUTHORIZED");
  });

  test("TLS: untrusted by default, trusted with --ca-cert, with certs.d, or with insecure", async () => {
    await using secure = await startDockerRegistry({ tls: true });
    const untrusted = await RegistryClient.open(secure.host, base).ping().catch((e) => e);
    expect(untrusted.code).toBe("UNAVAILABLE");
    expect(untrusted.message).toContain(`Cannot reach registry ${secure.host}: TLS certificate not trusted`);
    await RegistryClient.open(secure.host, { ...base, caCert: secure.caCert }).ping();
    await RegistryClient.open(secure.host, { ...base, insecure: true }).ping();
    const certs = join(secure.dir, "certs.d");
    mkdirSync(join(certs, secure.host), { recursive: true });
    copyFileSync(secure.caCert!, join(certs, secure.host, "ca.crt"));
    const client = RegistryClient.open(secure.host, { ...base, certDirs: [certs] });
    expect(await client.repositories()).toEqual([]);
    expect(await client.transport.scheme()).toBe("https");
  });

  test("client certificates from certs.d/HOST:PORT/client.{cert,key}", async () => {
    await using mtls = await startDockerRegistry({ clientCertificates: true });
    const without = await RegistryClient.open(mtls.host, { ...base, caCert: mtls.caCert }).ping().catch((e) => e);
    expect(without).toBeInstanceOf(OciError);
    const certs = join(mtls.dir, "certs.d");
    mkdirSync(join(certs, mtls.host), { recursive: true });
    copyFileSync(mtls.caCert!, join(certs, mtls.host, "ca.crt"));
    copyFileSync(mtls.clientCert!, join(certs, mtls.host, "client.cert"));
    copyFileSync(mtls.clientKey!, join(certs, mtls.host, "client.key"));
    await RegistryClient.open(mtls.host, { ...base, certDirs: [certs] }).ping();
    await RegistryClient.open(mtls.host, { ...base, caCert: mtls.caCert, clientCert: mtls.clientCert, clientKey: mtls.clientKey }).ping();
  });
});
