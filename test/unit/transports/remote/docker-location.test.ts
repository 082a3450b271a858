import { expect, test } from "bun:test";
import { parseDockerLocation } from "../../../../src/transports/remote/index.ts";

const digest = `sha256:${"a".repeat(64)}`;

test.each([
  ["docker://localhost:5000", { registry: "localhost:5000" }],
  ["docker://site.example", { registry: "site.example" }],
  ["docker://site:5000/", { registry: "site:5000" }],
  ["docker://[::1]:5000", { registry: "[::1]:5000" }],
  ["docker://site:5000/mirror/team/", { registry: "site:5000", path: "mirror/team" }],
  ["docker://index.docker.io/", { registry: "docker.io" }],
])("%s is a registry", (input, expected) => {
  expect(parseDockerLocation(input)).toEqual(expected);
});

test.each([
  ["docker://site:5000/acme/app:1.0", "site:5000", "acme/app", "1.0", undefined],
  ["docker://localhost:5000/app", "localhost:5000", "app", undefined, undefined],
  [`docker://site:5000/app@${digest}`, "site:5000", "app", undefined, digest],
  ["docker://busybox", "docker.io", "library/busybox", undefined, undefined],
  ["docker://busybox:1.36", "docker.io", "library/busybox", "1.36", undefined],
  ["docker://registry:5000", "docker.io", "library/registry", "5000", undefined],
  ["docker://acme/app:2", "docker.io", "acme/app", "2", undefined],
])("%s is an image", (input, registry, path, tag, dig) => {
  const location = parseDockerLocation(input);
  expect({ registry: location.registry, path: location.path, tag: location.tag, digest: location.digest as string | undefined }).toEqual({ registry, path, tag, digest: dig });
  expect(location.image?.path).toBe(path);
});

test.each([
  ["docker://", "nothing after docker://"],
  ["docker://site:5000/Bad/", "is not a repository path"],
  ["docker://site:5000/App:1", "repository name must be lowercase"],
  ["docker://site:5000/app:bad tag", "invalid reference format"],
  ["docker://a b/", "expected host[:port]"],
])("%s is refused: %s", (input, message) => {
  expect(() => parseDockerLocation(input)).toThrow(message);
});
