/** Where each source image lands: the original Wrap, as a table. */
import { expect, test } from "bun:test";
import { parseNormalizedReference, parseReference, Reference } from "../../../src/reference/index.ts";
import { type DestinationNaming, destinationTarget, joinPath } from "../../../src/transports/naming.ts";

const digest = `sha256:${"b".repeat(64)}`;

test.each<[string, Reference, DestinationNaming, { repository: string; tag?: string }]>([
  ["registry: domain replaced, path kept", parseNormalizedReference("nginx:1.25"), { kind: "registry" }, { repository: "library/nginx", tag: "1.25" }],
  ["registry with prefix", parseNormalizedReference("docker.io/library/nginx:1.25"), { kind: "registry", prefix: "P" }, { repository: "P/library/nginx", tag: "1.25" }],
  ["registry with a deep prefix", parseReference("quay.io/org/tool:v1"), { kind: "registry", prefix: "mirror/upstream" }, { repository: "mirror/upstream/org/tool", tag: "v1" }],
  ["registry: a port in the source domain", parseReference("localhost:5000/acme/app:1.0"), { kind: "registry" }, { repository: "acme/app", tag: "1.0" }],
  ["registry: by digest only", parseReference(`docker.io/acme/app@${digest}`), { kind: "registry" }, { repository: "acme/app" }],
  ["registry: tag and digest keep the tag", parseReference(`docker.io/acme/app:1@${digest}`), { kind: "registry" }, { repository: "acme/app", tag: "1" }],
  ["registry: a name without domain (a bare-tag layout)", new Reference("", "my-bundle", "1.0"), { kind: "registry", prefix: "x" }, { repository: "x/my-bundle", tag: "1.0" }],
  ["layout keeps the full reference", parseNormalizedReference("nginx:1.25"), { kind: "full-name" }, { repository: "docker.io/library/nginx", tag: "1.25" }],
  ["layout keeps a port", parseReference("localhost:5000/acme/app:1.0"), { kind: "full-name" }, { repository: "localhost:5000/acme/app", tag: "1.0" }],
  ["layout without domain", new Reference("", "acme/app", "2"), { kind: "full-name" }, { repository: "acme/app", tag: "2" }],
  ["one image: the destination's name", parseNormalizedReference("nginx:1.25"), { kind: "image", repository: "web/front", tag: "7" }, { repository: "web/front", tag: "7" }],
  ["one image by digest: no tag", parseNormalizedReference("nginx:1.25"), { kind: "image", repository: "web/front" }, { repository: "web/front" }],
])("%s", (_, name, naming, expected) => {
  expect(destinationTarget(name, naming)).toEqual(expected);
});

test("joinPath drops empty parts and stray slashes", () => {
  expect(joinPath(undefined, "/a/", "", "b//c")).toBe("a/b/c");
  expect(joinPath()).toBe("");
});
