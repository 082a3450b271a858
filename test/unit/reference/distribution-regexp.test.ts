/**
 * The pattern tables of distribution/reference (regexp_test.go), re-expressed:
 * the anchored patterns must match (and capture) exactly what upstream's do.
 */
import { describe, expect, test } from "bun:test";
import { patterns } from "../../../src/reference/index.ts";

const BE = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";

describe("domain", () => {
  const table: [string, boolean][] = [
    ["test.com", true],
    ["test.com:10304", true],
    ["test.com:http", false],
    ["localhost", true],
    ["localhost:8080", true],
    ["a", true],
    ["a.b", true],
    ["ab.cd.com", true],
    ["a-b.com", true],
    ["-ab.com", false],
    ["ab-.com", false],
    ["ab.c-om", true],
    ["ab.-com", false],
    ["ab.com-", false],
    ["0101.com", true],
    ["001a.com", true],
    ["b.gbc.io:443", true],
    ["b.gbc.io", true],
    ["xn--n3h.com", true],
    ["Asdf.com", true],
    // The grammar does not check port ranges or IPv6 syntax beyond its characters.
    ["192.168.1.1:75050", true],
    ["192.168.1.1:750050", true],
    ["[fd00:1:2::3]:75050", true],
    ["[fd00:1:2::3]75050", false],
    ["[fd00:1:2::3]::75050", false],
    ["[fd00:1:2::3%eth0]:75050", false],
    ["[fd00123123123]:75050", true],
    ["[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", true],
    ["[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505", true],
    ["fd00:1:2::3:75050", false],
    // More of our own.
    ["[::1]", true],
    ["[::1]:5000", true],
    ["[]", false],
    ["[::ffff:192.0.2.1]", false],
    ["a_b.com", false],
    ["a..b", false],
    [".a", false],
    ["a.", false],
    ["a:", false],
    [":5000", false],
  ];
  test.each(table)("%p", (input, match) => expect(patterns.ANCHORED_DOMAIN.test(input)).toBe(match));
});

describe("full name, capturing domain and path", () => {
  const table: [string, [string, string] | null][] = [
    ["", null],
    ["short", ["", "short"]],
    ["simple/name", ["simple", "name"]],
    ["library/ubuntu", ["library", "ubuntu"]],
    ["docker/stevvooe/app", ["docker", "stevvooe/app"]],
    ["aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb", ["aa", "aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb"]],
    ["aa/aa/bb/bb/bb", ["aa", "aa/bb/bb/bb"]],
    ["a/a/a/a", ["a", "a/a/a"]],
    ["a/a/a/a/", null],
    ["a//a/a", null],
    ["a", ["", "a"]],
    ["a/aa", ["a", "aa"]],
    ["a/aa/a", ["a", "aa/a"]],
    ["foo.com", ["", "foo.com"]],
    ["foo.com/", null],
    ["foo.com:8080/bar", ["foo.com:8080", "bar"]],
    ["foo.com:http/bar", null],
    ["foo.com/bar", ["foo.com", "bar"]],
    ["foo.com/bar/baz", ["foo.com", "bar/baz"]],
    ["localhost:8080/bar", ["localhost:8080", "bar"]],
    ["sub-dom1.foo.com/bar/baz/quux", ["sub-dom1.foo.com", "bar/baz/quux"]],
    ["blog.foo.com/bar/baz", ["blog.foo.com", "bar/baz"]],
    ["a^a", null],
    ["aa/asdf$$^/aa", null],
    ["asdf$$^/aa", null],
    ["aa-a/a", ["aa-a", "a"]],
    [`${"a/".repeat(128)}a`, ["a", `${"a/".repeat(127)}a`]],
    ["a-/a/a/a", null],
    ["foo.com/a-/a/a", null],
    ["-foo/bar", null],
    ["foo/bar-", null],
    ["foo-/bar", null],
    ["foo/-bar", null],
    ["_foo/bar", null],
    ["foo_bar", ["", "foo_bar"]],
    ["foo_bar.com", ["", "foo_bar.com"]],
    ["foo_bar.com:8080", null],
    ["foo_bar.com:8080/app", null],
    ["foo.com/foo_bar", ["foo.com", "foo_bar"]],
    ["____/____", null],
    ["_docker/_docker", null],
    ["docker_/docker_", null],
    ["b.gcr.io/test.example.com/my-app", ["b.gcr.io", "test.example.com/my-app"]],
    ["xn--n3h.com/myimage", ["xn--n3h.com", "myimage"]],
    ["xn--7o8h.com/myimage", ["xn--7o8h.com", "myimage"]],
    ["example.com/xn--7o8h.com/myimage", ["example.com", "xn--7o8h.com/myimage"]],
    ["example.com/some_separator__underscore/myimage", ["example.com", "some_separator__underscore/myimage"]],
    ["example.com/__underscore/myimage", null],
    ["example.com/..dots/myimage", null],
    ["example.com/.dots/myimage", null],
    ["example.com/nodouble..dots/myimage", null],
    ["docker./docker", null],
    [".docker/docker", null],
    ["docker-/docker", null],
    ["-docker/docker", null],
    ["do..cker/docker", null],
    ["do__cker:8080/docker", null],
    ["do__cker/docker", ["", "do__cker/docker"]],
    ["registry.io/foo/project--id.module--name.ver---sion--name", ["registry.io", "foo/project--id.module--name.ver---sion--name"]],
    ["Asdf.com/foo/bar", ["Asdf.com", "foo/bar"]],
    ["Foo/FarB", null],
    // Separators, one by one.
    ["a_b", ["", "a_b"]],
    ["a__b", ["", "a__b"]],
    ["a___b", null],
    ["a-b", ["", "a-b"]],
    ["a--b", ["", "a--b"]],
    ["a-----b", ["", "a-----b"]],
    ["a.b", ["", "a.b"]],
    ["a..b", null],
    ["a._b", null],
    ["a_.b", null],
    ["a-_b", null],
    ["a_-b", null],
  ];
  test.each(table)("%p", (input, subs) => {
    const match = patterns.ANCHORED_NAME.exec(input);
    expect(match && [match[1] ?? "", match[2] ?? ""]).toEqual(subs);
  });
});

describe("reference, capturing name, tag and digest", () => {
  const table: [string, [string, string, string] | null][] = [
    ["registry.com:8080/myapp:tag", ["registry.com:8080/myapp", "tag", ""]],
    [`registry.com:8080/myapp@${BE}`, ["registry.com:8080/myapp", "", BE]],
    [`registry.com:8080/myapp:tag2@${BE}`, ["registry.com:8080/myapp", "tag2", BE]],
    ["registry.com:8080/myapp@sha256:badbadbadbad", null],
    ["registry.com:8080/myapp:invalid~tag", null],
    ["bad_hostname.com:8080/myapp:tag", null],
    // localhost with no path is a name, and 8080 its tag.
    [`localhost:8080@${BE}`, ["localhost", "8080", BE]],
    [`localhost:8080/name@${BE}`, ["localhost:8080/name", "", BE]],
    [`localhost:http/name@${BE}`, null],
    [`localhost@${BE}`, ["localhost", "", BE]],
    ["registry.com:8080/myapp@bad", null],
    ["registry.com:8080/myapp@2bad", null],
  ];
  test.each(table)("%p", (input, subs) => {
    const match = patterns.ANCHORED_REFERENCE.exec(input);
    expect(match && [match[1] ?? "", match[2] ?? "", match[3] ?? ""]).toEqual(subs);
  });
});

describe("identifier", () => {
  const table: [string, boolean][] = [
    ["da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", true],
    ["7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", false],
    ["da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf", false],
    ["sha256:da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821", false],
    ["da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf98218482", false],
  ];
  test.each(table)("%p", (input, match) => expect(patterns.ANCHORED_IDENTIFIER.test(input)).toBe(match));
});

describe("short identifier", () => {
  const table: [string, boolean][] = [
    ["abcdef", true],
    ["abcde", false],
    ["a".repeat(64), true],
    ["a".repeat(65), false],
    ["ABCDEF", false],
  ];
  test.each(table)("%p", (input, match) => expect(patterns.ANCHORED_SHORT_IDENTIFIER.test(input)).toBe(match));
});

test("unanchored patterns have no capturing groups, so routes can embed them", () => {
  for (const name of ["NAME", "REMOTE_NAME", "DOMAIN", "TAG", "DIGEST", "PATH_COMPONENT", "IDENTIFIER"] as const) {
    const groups = new RegExp(`${patterns[name]}|`).exec("")!.length - 1;
    expect(`${name}: ${groups}`).toBe(`${name}: 0`);
  }
});
