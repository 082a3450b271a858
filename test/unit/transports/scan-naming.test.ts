/** Scan copies: every image into one repository, tagged <prefix>_<path with _>_<tag>; digests and long names, as a table. */
import { expect, test } from "bun:test";
import { digestOf, encodedOf } from "../../../src/digest/index.ts";
import { parseNormalizedReference, parseReference, patterns, Reference } from "../../../src/reference/index.ts";
import { destinationTarget } from "../../../src/transports/naming.ts";
import { checkTagPrefix, scanTag, TAG_LENGTH_MAX } from "../../../src/transports/scan-naming.ts";

const digest = `sha256:0123456789abcdef${"a".repeat(48)}`;
const longPath = `acme/${"very-long-component-name/".repeat(5)}tool`;
const longTag = (() => {
  const full = `7.1.0_${longPath.split("/").join("_")}_1.0.0-rc.1`;
  return `${full.slice(0, 117)}-${encodedOf(digestOf(full)).slice(0, 10)}`;
})();

test.each<[string, Reference, string | undefined, string]>([
  ["docker hub official image", parseNormalizedReference("nginx:1.25"), "7.1.0", "7.1.0_library_nginx_1.25"],
  ["full docker.io name", parseNormalizedReference("docker.io/library/nginx:1.25"), "7.1.0", "7.1.0_library_nginx_1.25"],
  ["another registry: the domain is left out", parseReference("quay.io/coreos/etcd:v3.5.9"), "7.1.0", "7.1.0_coreos_etcd_v3.5.9"],
  ["a port in the domain", parseReference("localhost:5000/acme/app:2"), "rel", "rel_acme_app_2"],
  ["a deep path", parseReference("registry.k8s.io/sig-storage/csi/provisioner:v3.6.0"), "7.1.0", "7.1.0_sig-storage_csi_provisioner_v3.6.0"],
  ["no prefix", parseNormalizedReference("nginx:1.25"), undefined, "library_nginx_1.25"],
  ["empty prefix", parseNormalizedReference("nginx:1.25"), "", "library_nginx_1.25"],
  ["tag and digest: the tag", parseReference(`docker.io/acme/app:1@${digest}`), "p", "p_acme_app_1"],
  ["digest only: sha256- and 16 hex digits", parseReference(`quay.io/acme/tool@${digest}`), "7.1.0", "7.1.0_acme_tool_sha256-0123456789abcdef"],
  ["a name without domain (bare-tag layout)", new Reference("", "my-bundle", "1.0"), "x", "x_my-bundle_1.0"],
  ["longer than 128: cut, with a hash of the whole", parseReference(`docker.io/${longPath}:1.0.0-rc.1`), "7.1.0", longTag],
])("%s", (_, name, prefix, expected) => {
  const tag = scanTag(name, prefix);
  expect(tag).toBe(expected);
  expect(tag.length).toBeLessThanOrEqual(TAG_LENGTH_MAX);
  expect(patterns.ANCHORED_TAG.test(tag)).toBe(true);
  // Through the naming function every destination uses.
  expect(destinationTarget(name, { kind: "scan", repository: "scans/release", ...(prefix !== undefined ? { tagPrefix: prefix } : {}) })).toEqual({
    repository: "scans/release",
    tag: expected,
  });
});

test("shortening is deterministic, exactly 128 characters, and tells apart names that share their first 117", () => {
  const a = parseReference(`docker.io/${longPath}:1.0.0-rc.1`);
  const b = parseReference(`docker.io/${longPath}:1.0.0-rc.2`);
  expect(scanTag(a, "7.1.0")).toBe(scanTag(a, "7.1.0"));
  expect(scanTag(a, "7.1.0")).toHaveLength(TAG_LENGTH_MAX);
  expect(scanTag(a, "7.1.0")).not.toBe(scanTag(b, "7.1.0"));
  expect(scanTag(a, "7.1.0").slice(0, 117)).toBe(scanTag(b, "7.1.0").slice(0, 117));
  // Exactly 128 is left alone.
  const exact = parseReference(`docker.io/acme/${"x".repeat(128 - "p_acme__1".length)}:1`);
  expect(scanTag(exact, "p")).toHaveLength(128);
  expect(scanTag(exact, "p").endsWith("_1")).toBe(true);
});

test("tag prefixes must start a valid tag", () => {
  for (const ok of ["7.1.0", "release_7", "A-b.c", "_x"]) expect(() => checkTagPrefix(ok)).not.toThrow();
  for (const bad of ["-x", ".x", "a/b", "a:b", "with space", "x".repeat(65)]) expect(() => checkTagPrefix(bad)).toThrow("Invalid tag prefix");
});
