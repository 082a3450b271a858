/**
 * Every production of the reference grammar, every error message, and the
 * boundaries, through the docker-normalising parser that `stevedore ref`
 * exposes. Each row: the input, then what it must give.
 */
import { describe, expect, test } from "bun:test";
import {
  NAME_TOTAL_LENGTH_MAX,
  parseNormalizedReference,
  parseReference,
  parseTag,
  REFERENCE_ERRORS,
  ReferenceError,
} from "../../../src/reference/index.ts";
import { HEX64, SHA256, SHA384, SHA512 } from "./cases.ts";

type Result = { name: string; familiar: string; tag?: string; digest?: string } | { error: string };

function parse(input: string): Result {
  try {
    const ref = parseNormalizedReference(input);
    return {
      name: ref.name,
      familiar: ref.familiarName,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      ...(ref.digest === undefined ? {} : { digest: ref.digest }),
    };
  } catch (error) {
    if (error instanceof ReferenceError) return { error: error.message };
    throw error;
  }
}

const named = (name: string, familiar: string, tag?: string, digest?: string): Result => ({
  name,
  familiar,
  ...(tag === undefined ? {} : { tag }),
  ...(digest === undefined ? {} : { digest }),
});
const E = REFERENCE_ERRORS;
const FORMAT: Result = { error: E.invalidFormat };
const DIGEST: Result = { error: E.invalidDigest };
const LOWER: Result = { error: E.uppercase };
const LONG: Result = { error: E.tooLong };
const a = (n: number) => "a".repeat(n);

function check(rows: [string, Result][]) {
  test.each(rows)("%p", (input, expected) => expect(parse(input)).toEqual(expected));
}

describe("docker normalisation", () => {
  check([
    ["busybox", named("docker.io/library/busybox", "busybox")],
    ["library/busybox", named("docker.io/library/busybox", "busybox")],
    ["docker.io/busybox", named("docker.io/library/busybox", "busybox")],
    ["docker.io/library/busybox", named("docker.io/library/busybox", "busybox")],
    ["index.docker.io/busybox", named("docker.io/library/busybox", "busybox")],
    ["index.docker.io/library/busybox", named("docker.io/library/busybox", "busybox")],
    ["index.docker.io/user/app", named("docker.io/user/app", "user/app")],
    ["user/app", named("docker.io/user/app", "user/app")],
    ["a/b/c/d", named("docker.io/a/b/c/d", "a/b/c/d")],
    // library/ is only dropped from a single component after it.
    ["docker.io/library/a/b", named("docker.io/library/a/b", "library/a/b")],
    ["library/a/b", named("docker.io/library/a/b", "library/a/b")],
    ["other/library", named("docker.io/other/library", "other/library")],
    // As in docker, the familiar form of a docker.io path that starts with
    // something domain-like does not read back as docker.io.
    ["docker.io/foo.bar/baz", named("docker.io/foo.bar/baz", "foo.bar/baz")],
    ["docker.io/localhost/baz", named("docker.io/localhost/baz", "localhost/baz")],
    // Other registries are never touched: no library/ there.
    ["registry-1.docker.io/busybox", named("registry-1.docker.io/busybox", "registry-1.docker.io/busybox")],
    ["quay.io/busybox", named("quay.io/busybox", "quay.io/busybox")],
    ["quay.io/library/busybox", named("quay.io/library/busybox", "quay.io/library/busybox")],
    // Case matters: only the exact legacy and default domains are rewritten.
    ["Docker.io/busybox", named("Docker.io/busybox", "Docker.io/busybox")],
    ["INDEX.docker.io/busybox", named("INDEX.docker.io/busybox", "INDEX.docker.io/busybox")],
  ]);
});

describe("what makes a first component a domain", () => {
  check([
    ["localhost/app", named("localhost/app", "localhost/app")],
    ["localhost:5000/app", named("localhost:5000/app", "localhost:5000/app")],
    ["localhost:5000/a/b:1.0", named("localhost:5000/a/b", "localhost:5000/a/b", "1.0")],
    // With no slash there is no domain: localhost is an image and 5000 its tag.
    ["localhost", named("docker.io/library/localhost", "localhost")],
    ["localhost:5000", named("docker.io/library/localhost", "localhost", "5000")],
    ["example.com", named("docker.io/library/example.com", "example.com")],
    ["example.com:5000", named("docker.io/library/example.com", "example.com", "5000")],
    // A dot, a colon, or uppercase.
    ["example.com/app", named("example.com/app", "example.com/app")],
    ["example:5000/app", named("example:5000/app", "example:5000/app")],
    ["Example/app", named("Example/app", "Example/app")],
    ["EXAMPLE/app", named("EXAMPLE/app", "EXAMPLE/app")],
    // None of these: the first component is a path component.
    ["localhostx/app", named("docker.io/localhostx/app", "localhostx/app")],
    ["example/app", named("docker.io/example/app", "example/app")],
    ["test_com/foo", named("docker.io/test_com/foo", "test_com/foo")],
    // A dot makes it a candidate domain; when the grammar cannot read it as
    // one, the whole is a path with no domain (as in distribution).
    ["foo_bar.com/app", named("foo_bar.com/app", "foo_bar.com/app")],
  ]);
});

describe("hosts and ports", () => {
  check([
    ["127.0.0.1/app", named("127.0.0.1/app", "127.0.0.1/app")],
    ["127.0.0.1:5000/app", named("127.0.0.1:5000/app", "127.0.0.1:5000/app")],
    ["sub-dom1.foo.com/bar", named("sub-dom1.foo.com/bar", "sub-dom1.foo.com/bar")],
    ["a-b.c-d.com/x", named("a-b.c-d.com/x", "a-b.c-d.com/x")],
    ["xn--n3h.com/app", named("xn--n3h.com/app", "xn--n3h.com/app")],
    ["example.com:1/app", named("example.com:1/app", "example.com:1/app")],
    // Port ranges are not the grammar's business.
    ["example.com:99999/app", named("example.com:99999/app", "example.com:99999/app")],
    ["example.com:/app", FORMAT],
    ["example.com:http/app", FORMAT],
    ["example.com:50:00/app", FORMAT],
    ["-example.com/app", FORMAT],
    ["example-.com/app", FORMAT],
    ["example..com/app", FORMAT],
    [".example.com/app", FORMAT],
    ["example.com./app", FORMAT],
    ["ex_ample.com:5000/app", FORMAT],
    // IPv6: bracketed, with and without port; no zones, no IPv4 tails.
    ["[::1]/app", named("[::1]/app", "[::1]/app")],
    ["[::1]:5000/app", named("[::1]:5000/app", "[::1]:5000/app")],
    ["[2001:db8::1]:5000/a/b:tag", named("[2001:db8::1]:5000/a/b", "[2001:db8::1]:5000/a/b", "tag")],
    [`[2001:db8::1]:5000/app@${SHA256}`, named("[2001:db8::1]:5000/app", "[2001:db8::1]:5000/app", undefined, SHA256)],
    ["[2001:DB8::1]/app", named("[2001:DB8::1]/app", "[2001:DB8::1]/app")],
    ["[fc00:1:2:3:4:5:6:7]:5000/library/debian", named("[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian")],
    ["[fe80::1%eth0]/app", FORMAT],
    ["[fe80::1%eth0]:5000/app", FORMAT],
    ["[fe80::1%25eth0]:5000/app", FORMAT],
    ["[::ffff:192.0.2.1]:5000/app", FORMAT],
    ["[::1]", FORMAT],
    ["[::1]:5000", FORMAT],
    ["[]:5000/app", FORMAT],
    ["[::1]5000/app", FORMAT],
    ["::1:5000/app", FORMAT],
    ["[::1/app", FORMAT],
  ]);
});

describe("path components and separators", () => {
  check([
    ["a", named("docker.io/library/a", "a")],
    ["0", named("docker.io/library/0", "0")],
    ["a0-9z", named("docker.io/library/a0-9z", "a0-9z")],
    ["a_b", named("docker.io/library/a_b", "a_b")],
    ["a__b", named("docker.io/library/a__b", "a__b")],
    ["a___b", FORMAT],
    ["a-b", named("docker.io/library/a-b", "a-b")],
    ["a--b", named("docker.io/library/a--b", "a--b")],
    ["a----b", named("docker.io/library/a----b", "a----b")],
    ["a.b", named("docker.io/library/a.b", "a.b")],
    ["a..b", FORMAT],
    ["a.b.c_d__e-f--g", named("docker.io/library/a.b.c_d__e-f--g", "a.b.c_d__e-f--g")],
    ["a_.b", FORMAT],
    ["a._b", FORMAT],
    ["a-.b", FORMAT],
    ["a.-b", FORMAT],
    ["a_-b", FORMAT],
    ["a-_b", FORMAT],
    ["_a", FORMAT],
    ["a_", FORMAT],
    ["-a", FORMAT],
    ["a-", FORMAT],
    [".a", FORMAT],
    ["a.", FORMAT],
    ["__a", FORMAT],
    ["user/a___b", FORMAT],
    ["user/a..b", FORMAT],
    ["user/a__b/c--d", named("docker.io/user/a__b/c--d", "user/a__b/c--d")],
    ["a//b", FORMAT],
    ["a/", FORMAT],
    ["/a", FORMAT],
    ["example.com/", FORMAT],
    ["example.com//a", FORMAT],
    ["a b", FORMAT],
    [" a", FORMAT],
    ["a ", FORMAT],
    ["a\n", FORMAT],
    ["ü", FORMAT],
    ["https://example.com/a", FORMAT],
  ]);
});

describe("uppercase: allowed in domains and tags, not in paths", () => {
  check([
    ["Busybox", LOWER],
    ["BUSYBOX:latest", LOWER],
    ["user/App", LOWER],
    ["docker.io/Busybox", LOWER],
    ["docker.io/library/Busybox", LOWER],
    ["example.com/App", LOWER],
    ["example.com/app/Sub", LOWER],
    ["localhost:5000/App", LOWER],
    ["Example.com/app", named("Example.com/app", "Example.com/app")],
    ["busybox:LATEST", named("docker.io/library/busybox", "busybox", "LATEST")],
    ["Example.com/App", LOWER],
    // Uppercase in the digest algorithm is a bad digest, not a bad name.
    [`busybox:1@SHA256:${HEX64}`, DIGEST],
    [`busybox:1@sha256:${HEX64.toUpperCase()}`, DIGEST],
    // docker checks the case of everything before the first ":" ahead of the
    // grammar: uppercase there wins over any other fault.
    ["Busy box", LOWER],
    [`busybox@SHA256:${HEX64}`, LOWER],
    // Uppercase only in a domain, invalid besides: invalid format.
    ["User/a___b", FORMAT],
  ]);
});

describe("tags", () => {
  const tag128 = `_${"a.-".repeat(42)}Z`;
  check([
    ["busybox:1.36", named("docker.io/library/busybox", "busybox", "1.36")],
    ["busybox:_", named("docker.io/library/busybox", "busybox", "_")],
    ["busybox:A", named("docker.io/library/busybox", "busybox", "A")],
    ["busybox:v1.2.3-rc.1_build-7", named("docker.io/library/busybox", "busybox", "v1.2.3-rc.1_build-7")],
    ["busybox:1..--__", named("docker.io/library/busybox", "busybox", "1..--__")],
    [`busybox:${tag128}`, named("docker.io/library/busybox", "busybox", tag128)],
    [`busybox:${"t".repeat(128)}`, named("docker.io/library/busybox", "busybox", "t".repeat(128))],
    [`busybox:${"t".repeat(129)}`, FORMAT],
    ["busybox:", FORMAT],
    ["busybox:.a", FORMAT],
    ["busybox:-a", FORMAT],
    ["busybox:a:b", FORMAT],
    ["busybox:a/b", FORMAT],
    ["busybox:a+b", FORMAT],
    ["busybox:a~b", FORMAT],
    ["busybox:ä", FORMAT],
    [":tag", FORMAT],
    ["example.com:5000/app:5000", named("example.com:5000/app", "example.com:5000/app", "5000")],
  ]);

  test("parseTag: 128 characters at most, first one a word character", () => {
    expect(parseTag("t".repeat(128))).toBe("t".repeat(128));
    for (const bad of ["t".repeat(129), "", ".a", "-a", "a:b", "a/b", "a@b"]) {
      expect(() => parseTag(bad)).toThrow(E.invalidTag);
    }
  });
});

describe("digests", () => {
  check([
    [`busybox@${SHA256}`, named("docker.io/library/busybox", "busybox", undefined, SHA256)],
    [`busybox:1.36@${SHA256}`, named("docker.io/library/busybox", "busybox", "1.36", SHA256)],
    [`busybox@${SHA384}`, named("docker.io/library/busybox", "busybox", undefined, SHA384)],
    [`busybox@${SHA512}`, named("docker.io/library/busybox", "busybox", undefined, SHA512)],
    // Well-formed, unknown algorithms parse (they are verified, and refused, later).
    [`busybox@foo:${"f".repeat(32)}`, named("docker.io/library/busybox", "busybox", undefined, `foo:${"f".repeat(32)}`)],
    [`busybox@sha256+b64u.x_y-z:${"F".repeat(40)}`, named("docker.io/library/busybox", "busybox", undefined, `sha256+b64u.x_y-z:${"F".repeat(40)}`)],
    // Registered algorithms: exact length, lowercase hex.
    [`busybox@sha256:${HEX64.slice(1)}`, DIGEST],
    [`busybox@sha256:${HEX64}0`, DIGEST],
    [`busybox@sha256:${HEX64.toUpperCase()}`, DIGEST],
    [`busybox@sha512:${HEX64}`, DIGEST],
    [`busybox@sha384:${HEX64}`, DIGEST],
    [`busybox:1@Sha256:${HEX64}`, DIGEST],
    // Not a digest by the grammar at all: the reference is malformed.
    [`busybox@sha256:${"f".repeat(31)}`, FORMAT],
    [`busybox@sha256:${"g".repeat(64)}`, FORMAT],
    [`busybox@1sha:${HEX64}`, FORMAT],
    [`busybox@sha256-:${HEX64}`, FORMAT],
    [`busybox@:${HEX64}`, FORMAT],
    ["busybox@", FORMAT],
    ["busybox@sha256", FORMAT],
    [`busybox@${SHA256}@${SHA256}`, FORMAT],
    [`busybox@${SHA256}:tag`, FORMAT],
    [`@${SHA256}`, FORMAT],
  ]);
});

describe("identifiers are not names", () => {
  check([
    [HEX64, FORMAT],
    [`${HEX64}:tag`, named(`docker.io/library/${HEX64}`, HEX64, "tag")],
    [HEX64.slice(1), named(`docker.io/library/${HEX64.slice(1)}`, HEX64.slice(1))],
    [`${HEX64}0`, named(`docker.io/library/${HEX64}0`, `${HEX64}0`)],
    [`docker.io/${HEX64}`, named(`docker.io/library/${HEX64}`, HEX64)],
    [`user/${HEX64}`, named(`docker.io/user/${HEX64}`, `user/${HEX64}`)],
    [HEX64.toUpperCase(), LOWER],
  ]);
});

describe("the 255-character limit counts the whole normalised name", () => {
  // "docker.io/library/" is 18 characters, "docker.io/" 10.
  const max = NAME_TOTAL_LENGTH_MAX;
  check([
    [a(max - 18), named(`docker.io/library/${a(max - 18)}`, a(max - 18))],
    [a(max - 17), LONG],
    [`${a(max - 18)}:tag`, named(`docker.io/library/${a(max - 18)}`, a(max - 18), "tag")],
    [`${a(max - 17)}:tag`, LONG],
    [`docker.io/${a(max - 18)}`, named(`docker.io/library/${a(max - 18)}`, a(max - 18))],
    [`docker.io/${a(max - 17)}`, LONG],
    [`index.docker.io/${a(max - 17)}`, LONG],
    [`user/${a(max - 15)}`, named(`docker.io/user/${a(max - 15)}`, `user/${a(max - 15)}`)],
    [`user/${a(max - 14)}`, LONG],
    [`example.com/${a(max - 12)}`, named(`example.com/${a(max - 12)}`, `example.com/${a(max - 12)}`)],
    [`example.com/${a(max - 11)}`, LONG],
    [`localhost:5000/${a(max - 15)}`, named(`localhost:5000/${a(max - 15)}`, `localhost:5000/${a(max - 15)}`)],
    [`localhost:5000/${a(max - 14)}`, LONG],
    [`${"a/".repeat(122)}a`, named(`docker.io/${"a/".repeat(122)}a`, `${"a/".repeat(122)}a`)],
    [`${"a/".repeat(123)}a`, LONG],
    [`${a(300)}@sha256:abc`, FORMAT],
    // Length is checked before the digest, after the grammar and case.
    [`${a(300)}@sha256:${"f".repeat(32)}`, LONG],
    [`${a(300).toUpperCase()}:tag`, LOWER],
    [`${a(300)}:${"t".repeat(129)}`, FORMAT],
  ]);

  test("the same limit without normalisation counts domain and path", () => {
    expect(() => parseReference(`example.com/${a(max - 11)}`)).toThrow(E.tooLong);
    expect(parseReference(`example.com/${a(max - 12)}`).name.length).toBe(max);
    expect(parseReference(a(max)).name).toBe(a(max));
    expect(() => parseReference(a(max + 1))).toThrow(E.tooLong);
  });
});

describe("every message, and where it comes from", () => {
  test("empty input", () => {
    // Without normalisation the name is empty; normalised it is "docker.io/library/".
    expect(() => parseReference("")).toThrow(E.empty);
    expect(parse("")).toEqual(FORMAT);
  });
  test("canonical form", async () => {
    const { parseCanonicalReference } = await import("../../../src/reference/index.ts");
    expect(() => parseCanonicalReference("busybox")).toThrow(E.notCanonical);
    expect(parseCanonicalReference("docker.io/library/busybox:1").toString()).toBe("docker.io/library/busybox:1");
  });
  test("errors name the input and the rule", () => {
    try {
      parseNormalizedReference("Busybox");
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(ReferenceError);
      const e = error as ReferenceError;
      expect([e.message, e.value]).toEqual([E.uppercase, "Busybox"]);
      expect(e.describe()).toStartWith('repository name must be lowercase: "Busybox": ');
    }
  });
  test("long inputs are shortened in descriptions", () => {
    try {
      parseNormalizedReference(`${a(5000)}!`);
    } catch (error) {
      expect((error as ReferenceError).describe().length).toBeLessThan(400);
    }
  });
});
