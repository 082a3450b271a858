import { describe, expect, test } from "bun:test";
import { TagSpec } from "../../../src/reference/index.ts";
import { SHA256 } from "./cases.ts";

describe("TagSpec.split", () => {
  const table: [string, { host: string; port: string; name: string; tag: string; digest: string }, boolean][] = [
    ["busybox", { host: "", port: "", name: "busybox", tag: "", digest: "" }, true],
    ["busybox:1.36", { host: "", port: "", name: "busybox", tag: "1.36", digest: "" }, true],
    ["user/app:v1", { host: "", port: "", name: "user/app", tag: "v1", digest: "" }, true],
    ["localhost/app", { host: "localhost", port: "", name: "app", tag: "", digest: "" }, true],
    ["localhost:5000/a/b:1.0", { host: "localhost", port: "5000", name: "a/b", tag: "1.0", digest: "" }, true],
    ["example.com/app", { host: "example.com", port: "", name: "app", tag: "", digest: "" }, true],
    [`example.com:443/app:1@${SHA256}`, { host: "example.com", port: "443", name: "app", tag: "1", digest: SHA256 }, true],
    [`app@${SHA256}`, { host: "", port: "", name: "app", tag: "", digest: SHA256 }, true],
    ["[::1]:5000/app:2", { host: "[::1]", port: "5000", name: "app", tag: "2", digest: "" }, true],
    ["[::1]/app", { host: "[::1]", port: "", name: "app", tag: "", digest: "" }, true],
    ["Registry/app", { host: "Registry", port: "", name: "app", tag: "", digest: "" }, true],
    // Forgiving: it takes apart what it is given, and isValid says the rest.
    ["  padded:1  ", { host: "", port: "", name: "padded", tag: "1", digest: "" }, true],
    ["", { host: "", port: "", name: "", tag: "", digest: "" }, false],
    ["host:port/App:tag", { host: "host", port: "port", name: "App", tag: "tag", digest: "" }, false],
    ["app:bad tag", { host: "", port: "", name: "app", tag: "bad tag", digest: "" }, false],
    ["app@nonsense", { host: "", port: "", name: "app", tag: "", digest: "nonsense" }, false],
    [":only-tag", { host: "", port: "", name: "", tag: "only-tag", digest: "" }, false],
    ["a/b/c:d/e", { host: "", port: "", name: "a/b/c:d/e", tag: "", digest: "" }, false],
  ];
  test.each(table)("%p", (input, parts, valid) => {
    const spec = TagSpec.split(input);
    expect({ host: spec.host, port: spec.port, name: spec.name, tag: spec.tag, digest: spec.digest }).toEqual(parts);
    expect(spec.isValid()).toBe(valid);
    // What it took apart it puts back together.
    expect(spec.toString()).toBe(input.trim());
  });

  test("registry joins host and port", () => {
    expect(TagSpec.split("example.com:5000/a").registry).toBe("example.com:5000");
    expect(TagSpec.split("example.com/a").registry).toBe("example.com");
    expect(TagSpec.split("a").registry).toBe("");
  });
});
