/** openDestination with scan: the destination must name one repository of a registry or store. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isClosable } from "../../../src/oci/index.ts";
import { parseNormalizedReference } from "../../../src/reference/index.ts";
import { openDestination, TransportError } from "../../../src/transports/index.ts";

const dir = mkdtempSync(join(tmpdir(), "scan-destination-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test.each<[string, string]>([
  ["docker://scan-reg.example:5000/scans/release", "scans/release"],
  ["scan-reg.example:5000/scans", "scans"],
  [`store:${join(dir, "store")}:scans/release`, "scans/release"],
])("%s: every image into %s", async (dest, repository) => {
  const opened = await openDestination(dest, { scan: { tagPrefix: "7.1.0" } });
  try {
    expect(opened.naming).toEqual({ kind: "scan", repository, tagPrefix: "7.1.0" });
    const image = { repository: "library/nginx", reference: "1.25", name: parseNormalizedReference("nginx:1.25") };
    expect(opened.target(image)).toEqual({ repository, tag: "7.1.0_library_nginx_1.25" });
  } finally {
    if (isClosable(opened.home)) await opened.home.close();
  }
});

test.each<[string, string, { prefix?: string; tagPrefix?: string }, RegExp]>([
  ["a registry without a repository", "docker://scan-reg.example:5000", {}, /--scan needs DEST to name the scan repository/],
  ["one image", "docker://scan-reg.example:5000/scans:1", {}, /--scan needs DEST to name the scan repository/],
  ["a layout", `oci:${join(dir, "layout")}`, {}, /--scan needs DEST to name the scan repository/],
  ["with --prefix", "docker://scan-reg.example:5000/scans", { prefix: "x" }, /--prefix does not apply with --scan/],
  ["a bad tag prefix", "docker://scan-reg.example:5000/scans", { tagPrefix: "7.1/0" }, /Invalid tag prefix "7.1\/0"/],
])("refused: %s", async (_, dest, options, message) => {
  const error = await openDestination(dest, {
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    scan: { ...(options.tagPrefix !== undefined ? { tagPrefix: options.tagPrefix } : {}) },
  }).catch((e) => e);
  expect(error).toBeInstanceOf(TransportError);
  expect(error.message).toMatch(message);
});
