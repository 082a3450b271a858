/**
 * Checking what a client left in the registry, through the Distribution
 * API itself (plain fetch, no client code of ours in between), and pushing
 * generated images byte for byte when no client can (Docker-format images
 * from memory).
 */
import { readFileSync } from "node:fs";
import { MANIFEST_ACCEPT } from "../../src/oci/index.ts";
import { allBlobs, allManifests, type GeneratedManifest } from "../helpers/images.ts";

export interface Target {
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** Basic credentials, when the registry wants them. */
  auth?: { username: string; password: string };
  /** Trust this CA (PEM file) for https. */
  ca?: string;
}

function init(target: Target, init: RequestInit = {}): RequestInit {
  const headers = new Headers(init.headers);
  if (target.auth) headers.set("Authorization", `Basic ${btoa(`${target.auth.username}:${target.auth.password}`)}`);
  return { ...init, headers, ...(target.ca ? { tls: { ca: readFileSync(target.ca, "utf8") } } : {}) } as RequestInit;
}

export interface RemoteManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  json: { mediaType?: string; config?: { digest: string }; layers?: { digest: string; mediaType: string }[]; manifests?: ManifestEntry[] };
}

export interface ManifestEntry {
  digest: string;
  mediaType: string;
  size: number;
  platform?: { os: string; architecture: string; variant?: string };
}

/** GET a manifest; throws unless 200. */
export async function getManifest(target: Target, repository: string, reference: string): Promise<RemoteManifest> {
  const res = await fetch(`${target.url}/v2/${repository}/manifests/${reference}`, init(target, { headers: { Accept: MANIFEST_ACCEPT } }));
  if (res.status !== 200) throw new Error(`GET ${repository}:${reference}: ${res.status} ${await res.text()}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return {
    digest: res.headers.get("docker-content-digest") ?? "",
    mediaType: res.headers.get("content-type") ?? "",
    bytes,
    json: JSON.parse(new TextDecoder().decode(bytes)),
  };
}

/** HEAD a manifest: its digest, or null when the registry does not have it. */
export async function manifestDigest(target: Target, repository: string, reference: string): Promise<string | null> {
  const res = await fetch(`${target.url}/v2/${repository}/manifests/${reference}`, init(target, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } }));
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`HEAD ${repository}:${reference}: ${res.status}`);
  return res.headers.get("docker-content-digest");
}

export async function hasBlob(target: Target, repository: string, digest: string): Promise<boolean> {
  const res = await fetch(`${target.url}/v2/${repository}/blobs/${digest}`, init(target, { method: "HEAD" }));
  if (res.status !== 200 && res.status !== 404) throw new Error(`HEAD blob ${digest} in ${repository}: ${res.status}`);
  return res.status === 200;
}

export async function getBlob(target: Target, repository: string, digest: string): Promise<Uint8Array> {
  const res = await fetch(`${target.url}/v2/${repository}/blobs/${digest}`, init(target));
  if (res.status !== 200) throw new Error(`GET blob ${digest} in ${repository}: ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Every manifest and blob an image (or index) needs is in the repository:
 * children by digest, configs and layers by HEAD.
 */
export async function expectComplete(target: Target, repository: string, digest: string): Promise<void> {
  const m = await getManifest(target, repository, digest);
  if (m.digest !== digest) throw new Error(`${repository}@${digest} answered with digest ${m.digest}`);
  for (const child of m.json.manifests ?? []) await expectComplete(target, repository, child.digest);
  const blobs = [...(m.json.config ? [m.json.config.digest] : []), ...(m.json.layers ?? []).map((l) => l.digest)];
  for (const blob of blobs) {
    if (!(await hasBlob(target, repository, blob))) throw new Error(`${repository}@${digest} lacks blob ${blob}`);
  }
}

/** Push a generated image or index as is: blobs, child manifests by digest, then the tag. */
export async function pushGenerated(target: Target, repository: string, tag: string, item: GeneratedManifest): Promise<void> {
  for (const b of allBlobs([item])) {
    const res = await fetch(
      `${target.url}/v2/${repository}/blobs/uploads/?digest=${b.descriptor.digest}`,
      init(target, { method: "POST", body: b.bytes, headers: { "Content-Type": "application/octet-stream" } }),
    );
    if (res.status !== 201) throw new Error(`push blob ${b.descriptor.digest}: ${res.status} ${await res.text()}`);
  }
  for (const m of allManifests([item])) {
    const reference = m === item ? tag : m.descriptor.digest;
    const res = await fetch(
      `${target.url}/v2/${repository}/manifests/${reference}`,
      init(target, { method: "PUT", body: m.bytes, headers: { "Content-Type": m.descriptor.mediaType } }),
    );
    if (res.status !== 201) throw new Error(`push manifest ${repository}:${reference}: ${res.status} ${await res.text()}`);
  }
}

/** A line of the access log that was a server fault (5xx), if any. */
export function serverFaults(log: string): string[] {
  return log.split("\n").filter((line) => / 5\d\d \d+ [\d.]+ms$/.test(line) || /internal error/.test(line));
}
