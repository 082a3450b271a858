import { describe, expect, test } from "bun:test";
import { formatPlatform, type Platform, PlatformError, parsePlatform, platformMatches } from "../../../src/oci/index.ts";

describe("parsePlatform", () => {
  const table: [string, Platform | "error"][] = [
    ["linux/amd64", { os: "linux", architecture: "amd64" }],
    ["linux/arm64/v8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux/arm/v7", { os: "linux", architecture: "arm", variant: "v7" }],
    ["windows/amd64", { os: "windows", architecture: "amd64" }],
    ["linux/s390x", { os: "linux", architecture: "s390x" }],
    ["linux/ppc64le", { os: "linux", architecture: "ppc64le" }],
    ["Linux/AMD64", { os: "linux", architecture: "amd64" }],
    // Aliases other tools print.
    ["linux/x86_64", { os: "linux", architecture: "amd64" }],
    ["linux/x86-64", { os: "linux", architecture: "amd64" }],
    ["linux/aarch64", { os: "linux", architecture: "arm64" }],
    ["linux/i386", { os: "linux", architecture: "386" }],
    ["linux/armhf", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/armel", { os: "linux", architecture: "arm", variant: "v6" }],
    ["linux/arm/7", { os: "linux", architecture: "arm", variant: "v7" }],
    ["linux/aarch64/8", { os: "linux", architecture: "arm64", variant: "v8" }],
    ["linux", "error"],
    ["", "error"],
    ["linux/", "error"],
    ["/amd64", "error"],
    ["linux/amd64/", "error"],
    ["linux/arm/v7/extra", "error"],
    ["linux/am d64", "error"],
    ["linux//amd64", "error"],
  ];
  test.each(table)("%p", (text, expected) => {
    if (expected === "error") {
      expect(() => parsePlatform(text)).toThrow(PlatformError);
      expect(() => parsePlatform(text)).toThrow(`Invalid platform ${JSON.stringify(text)}: expected os/arch[/variant], e.g. linux/amd64`);
    } else {
      expect(parsePlatform(text)).toEqual(expected);
    }
  });

  test("formatPlatform is its inverse for canonical names", () => {
    for (const text of ["linux/amd64", "linux/arm64/v8", "windows/amd64", "linux/arm/v6"]) {
      expect(formatPlatform(parsePlatform(text))).toBe(text);
    }
  });
});

describe("platformMatches", () => {
  const p = (os: string, architecture: string, variant?: string): Platform =>
    variant ? { os, architecture, variant } : { os, architecture };
  const table: [wanted: string, candidate: Platform | undefined, matches: boolean][] = [
    ["linux/amd64", p("linux", "amd64"), true],
    ["linux/amd64", p("linux", "arm64"), false],
    ["linux/amd64", p("windows", "amd64"), false],
    ["linux/amd64", undefined, false],
    // No wanted variant: every variant.
    ["linux/arm", p("linux", "arm", "v6"), true],
    ["linux/arm", p("linux", "arm", "v7"), true],
    ["linux/arm64", p("linux", "arm64", "v8"), true],
    ["linux/amd64", p("linux", "amd64", "v3"), true],
    // A wanted variant: exact, with each architecture's default for a missing one.
    ["linux/arm64/v8", p("linux", "arm64"), true],
    ["linux/arm64/v8", p("linux", "arm64", "v8"), true],
    ["linux/arm64/v9", p("linux", "arm64"), false],
    ["linux/arm/v7", p("linux", "arm"), true],
    ["linux/arm/v7", p("linux", "arm", "v7"), true],
    ["linux/arm/v6", p("linux", "arm"), false],
    ["linux/arm/v6", p("linux", "arm", "v7"), false],
    ["linux/armhf", p("linux", "arm", "v7"), true],
    ["linux/amd64/v1", p("linux", "amd64"), true],
    ["linux/amd64/v3", p("linux", "amd64"), false],
    ["linux/s390x/v1", p("linux", "s390x"), false],
    ["linux/aarch64", p("linux", "arm64", "v8"), true],
  ];
  test.each(table)("%p against %p", (wanted, candidate, matches) => {
    expect(platformMatches(parsePlatform(wanted), candidate)).toBe(matches);
  });
});
