/**
 * The normalisation tables of distribution/reference (normalize_test.go),
 * re-expressed as our own.
 */
import { describe, expect, test } from "bun:test";
import {
  DigestReference,
  parseAnyReference,
  parseDockerReference,
  parseNormalizedReference,
  parseReference,
  Reference,
} from "../../../src/reference/index.ts";

const ID = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
const REDIS = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const BUSYBOX = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";

function accepts(input: string): boolean {
  try {
    parseNormalizedReference(input);
    return true;
  } catch {
    return false;
  }
}

describe("valid and invalid repository names", () => {
  const valid = [
    "docker/docker",
    "library/debian",
    "debian",
    "docker.io/docker/docker",
    "docker.io/library/debian",
    "docker.io/debian",
    "index.docker.io/docker/docker",
    "index.docker.io/library/debian",
    "index.docker.io/debian",
    "127.0.0.1:5000/docker/docker",
    "127.0.0.1:5000/library/debian",
    "127.0.0.1:5000/debian",
    "192.168.0.1",
    "192.168.0.1:80",
    "192.168.0.1:8/debian",
    "192.168.0.2:25000/debian",
    "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
    "[fc00::1]:5000/docker",
    "[fc00::1]:5000/docker/docker",
    "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
    // With a domain, 64 hex characters are a name, not an identifier.
    `docker.io/${ID}`,
    "Docker/docker",
    "DOCKER/docker",
    // remote names
    "docker-rules/docker",
    "docker---rules/docker",
    "doc/docker",
    "d/docker",
    "jess/t",
    "dock__er/docker",
  ];
  const invalid = [
    "https://github.com/docker/docker",
    "docker/Docker",
    "-docker",
    "-docker/docker",
    "-docker.io/docker/docker",
    "docker///docker",
    "docker.io/docker/Docker",
    "docker.io/docker///docker",
    "[fc00::1]",
    "[fc00::1]:5000",
    "fc00::1:5000/debian",
    "[fe80::1%eth0]:5000/debian",
    "[2001:db8:3:4::192.0.2.33]:5000/debian",
    ID,
    "docker-/docker",
    "-docker-/docker",
    "____/____",
    "_docker/_docker",
    "dock..er/docker",
    "dock_.er/docker",
    "dock-.er/docker",
    "docker/",
    `${"this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)}/docker`,
  ];
  test.each(valid)("accepts %p", (input) => expect(accepts(input)).toBe(true));
  test.each(invalid)("refuses %p", (input) => expect(accepts(input)).toBe(false));
});

describe("familiar, full and ambiguous names of one repository", () => {
  const table: { path: string; familiar: string; full: string; ambiguous?: string; domain: string }[] = [
    { path: "fooo/bar", familiar: "fooo/bar", full: "docker.io/fooo/bar", ambiguous: "index.docker.io/fooo/bar", domain: "docker.io" },
    { path: "library/ubuntu", familiar: "ubuntu", full: "docker.io/library/ubuntu", ambiguous: "library/ubuntu", domain: "docker.io" },
    { path: "nonlibrary/ubuntu", familiar: "nonlibrary/ubuntu", full: "docker.io/nonlibrary/ubuntu", domain: "docker.io" },
    { path: "other/library", familiar: "other/library", full: "docker.io/other/library", domain: "docker.io" },
    { path: "private/moonbase", familiar: "127.0.0.1:8000/private/moonbase", full: "127.0.0.1:8000/private/moonbase", domain: "127.0.0.1:8000" },
    { path: "privatebase", familiar: "127.0.0.1:8000/privatebase", full: "127.0.0.1:8000/privatebase", domain: "127.0.0.1:8000" },
    { path: "private/moonbase", familiar: "example.com/private/moonbase", full: "example.com/private/moonbase", domain: "example.com" },
    { path: "privatebase", familiar: "example.com/privatebase", full: "example.com/privatebase", domain: "example.com" },
    { path: "private/moonbase", familiar: "example.com:8000/private/moonbase", full: "example.com:8000/private/moonbase", domain: "example.com:8000" },
    { path: "privatebasee", familiar: "example.com:8000/privatebasee", full: "example.com:8000/privatebasee", domain: "example.com:8000" },
    { path: "library/ubuntu-12.04-base", familiar: "ubuntu-12.04-base", full: "docker.io/library/ubuntu-12.04-base", ambiguous: "index.docker.io/library/ubuntu-12.04-base", domain: "docker.io" },
    { path: "library/foo", familiar: "foo", full: "docker.io/library/foo", ambiguous: "docker.io/foo", domain: "docker.io" },
    { path: "library/foo/bar", familiar: "library/foo/bar", full: "docker.io/library/foo/bar", domain: "docker.io" },
    { path: "store/foo/bar", familiar: "store/foo/bar", full: "docker.io/store/foo/bar", domain: "docker.io" },
    { path: "bar", familiar: "Foo/bar", full: "Foo/bar", domain: "Foo" },
    { path: "bar", familiar: "FOO/bar", full: "FOO/bar", domain: "FOO" },
  ];
  const rows = table.flatMap((row) =>
    [row.familiar, row.full, row.ambiguous].filter((s): s is string => !!s).map((input) => [input, row] as const),
  );
  test.each(rows)("%p", (input, row) => {
    const ref = parseNormalizedReference(input);
    expect({ familiar: ref.familiarName, full: ref.toString(), domain: ref.domain, path: ref.path }).toEqual({
      familiar: row.familiar,
      full: row.full,
      domain: row.domain,
      path: row.path,
    });
  });
});

test("a reference with tag and digest keeps both, familiar and full", () => {
  const short = `busybox:latest@${BUSYBOX}`;
  const ref = parseNormalizedReference(short);
  expect({ full: ref.toString(), familiar: ref.familiarString(), tag: ref.tag, digest: ref.digest as string | undefined }).toEqual({
    full: `docker.io/library/${short}`,
    familiar: short,
    tag: "latest",
    digest: BUSYBOX,
  });
});

test("invalid components are refused", () => {
  expect(() => parseNormalizedReference("-foo")).toThrow("invalid reference format");
  const ref = parseNormalizedReference("busybox");
  expect(() => ref.withTag("-foo")).toThrow("invalid tag format");
});

describe("ParseAnyReference", () => {
  const table: [input: string, equivalent: string, kind: "digest" | "named"][] = [
    ["redis", "docker.io/library/redis", "named"],
    ["redis:latest", "docker.io/library/redis:latest", "named"],
    ["docker.io/library/redis:latest", "docker.io/library/redis:latest", "named"],
    [`redis@${REDIS}`, `docker.io/library/redis@${REDIS}`, "named"],
    [`docker.io/library/redis@${REDIS}`, `docker.io/library/redis@${REDIS}`, "named"],
    ["dmcgowan/myapp", "docker.io/dmcgowan/myapp", "named"],
    ["dmcgowan/myapp:latest", "docker.io/dmcgowan/myapp:latest", "named"],
    ["docker.io/mcgowan/myapp:latest", "docker.io/mcgowan/myapp:latest", "named"],
    [`dmcgowan/myapp@${REDIS}`, `docker.io/dmcgowan/myapp@${REDIS}`, "named"],
    [`docker.io/dmcgowan/myapp@${REDIS}`, `docker.io/dmcgowan/myapp@${REDIS}`, "named"],
    [REDIS.slice("sha256:".length), REDIS, "digest"],
    [REDIS, REDIS, "digest"],
    // 63 hex characters are a name; so is anything short.
    [REDIS.slice("sha256:".length, -1), `docker.io/library/${REDIS.slice("sha256:".length, -1)}`, "named"],
    ["dbcc1", "docker.io/library/dbcc1", "named"],
  ];
  test.each(table)("%p", (input, equivalent, kind) => {
    const ref = parseAnyReference(input);
    expect(ref.toString()).toBe(equivalent);
    expect(ref instanceof DigestReference ? "digest" : "named").toBe(kind);
    // And it is the same value as the equivalent parsed without normalisation.
    if (ref instanceof Reference) expect(ref.equals(parseReference(equivalent))).toBe(true);
  });
});

describe("domain and path after normalisation", () => {
  const table: [string, string, string][] = [
    ["test.com/foo", "test.com", "foo"],
    ["test_com/foo", "docker.io", "test_com/foo"],
    ["docker/migrator", "docker.io", "docker/migrator"],
    ["test.com:8080/foo", "test.com:8080", "foo"],
    ["test-com:8080/foo", "test-com:8080", "foo"],
    ["foo", "docker.io", "library/foo"],
    ["xn--n3h.com/foo", "xn--n3h.com", "foo"],
    ["xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"],
    ["docker.io/foo", "docker.io", "library/foo"],
    ["docker.io/library/foo", "docker.io", "library/foo"],
    ["docker.io/library/foo/bar", "docker.io", "library/foo/bar"],
  ];
  test.each(table)("%p", (input, domain, path) => {
    const ref = parseNormalizedReference(input);
    expect([ref.domain, ref.path]).toEqual([domain, path]);
  });
});

describe("ParseDockerRef", () => {
  const table: [string, string][] = [
    ["busybox", "docker.io/library/busybox:latest"],
    ["busybox:latest", "docker.io/library/busybox:latest"],
    [`busybox@${BUSYBOX}`, `docker.io/library/busybox@${BUSYBOX}`],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox:latest", "docker.io/library/busybox:latest"],
    ["library/busybox:latest", "docker.io/library/busybox:latest"],
    ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest"],
    ["gcr.io/library/busybox", "gcr.io/library/busybox:latest"],
    [`gcr.io/library/busybox:latest@${BUSYBOX}`, `gcr.io/library/busybox@${BUSYBOX}`],
  ];
  test.each(table)("%p", (input, expected) => {
    const ref = parseDockerReference(input);
    expect(ref.toString()).toBe(expected);
    expect(parseReference(expected).equals(ref)).toBe(true);
  });
});
