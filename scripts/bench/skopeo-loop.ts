/**
 * The loops a user writes around skopeo 1.9 to move a set of images (its
 * `sync` takes no `oci:` source): one `skopeo copy --all` per image, one
 * after the other or `parallel` at a time (as `xargs -P`).
 */
import { parseNormalizedReference } from "../../src/reference/index.ts";
import { check, pool, runTimed } from "./proc.ts";
import type { Bundle } from "./workload.ts";

export interface BundleImage {
  /** The full reference in the bundle (`docker.io/acme/app-0:1.0`): skopeo's `oci:DIR:REF`. */
  name: string;
  /** Where it lands in a registry: the path and tag, domain dropped. */
  repository: string;
  tag: string;
}

export function bundleImages(bundle: Bundle): BundleImage[] {
  return bundle.images.map(({ name }) => {
    const ref = parseNormalizedReference(name);
    return { name, repository: ref.path, tag: ref.tag ?? "latest" };
  });
}

async function copyAll(pairs: [string, string][], parallel: number, tls: string[]): Promise<number> {
  const started = performance.now();
  await pool(pairs, parallel, async ([from, to]) => {
    check(await runTimed(["skopeo", "copy", "--all", "--quiet", ...tls, from, to]), `skopeo copy ${from} ${to}`);
  });
  return (performance.now() - started) / 1000;
}

/** Push every image of the bundle into `host`; returns seconds. */
export function skopeoPush(bundle: Bundle, host: string, parallel = 1): Promise<number> {
  const pairs = bundleImages(bundle).map(
    (i): [string, string] => [`oci:${bundle.dir}:${i.name}`, `docker://${host}/${i.repository}:${i.tag}`],
  );
  return copyAll(pairs, parallel, ["--dest-tls-verify=false"]);
}

/** Pull every image of the bundle back from `host` into the OCI layout `dir`; returns seconds. */
export function skopeoPull(bundle: Bundle, host: string, dir: string, parallel = 1): Promise<number> {
  const pairs = bundleImages(bundle).map(
    (i): [string, string] => [`docker://${host}/${i.repository}:${i.tag}`, `oci:${dir}:${i.repository}:${i.tag}`],
  );
  return copyAll(pairs, parallel, ["--src-tls-verify=false"]);
}
