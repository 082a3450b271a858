import { expect, test } from "bun:test";
import { UsageError } from "../../../src/cli/command.ts";
import { parseDuration } from "../../../src/cli/duration.ts";
import { parseAddr } from "../../../src/cli/serve.ts";

test("durations as operators write them", () => {
  expect(parseDuration("24h", "--upload-ttl")).toBe(86_400_000);
  expect(parseDuration("1h30m", "--upload-ttl")).toBe(5_400_000);
  expect(parseDuration("45s", "--upload-ttl")).toBe(45_000);
  expect(parseDuration("500ms", "--upload-ttl")).toBe(500);
  expect(parseDuration("2d", "--upload-ttl")).toBe(172_800_000);
  expect(parseDuration("1.5h", "--upload-ttl")).toBe(5_400_000);
  for (const bad of ["", "24", "h", "1x", "1h 30m", "-1h", "soon"]) {
    expect(() => parseDuration(bad, "--upload-ttl")).toThrow(UsageError);
  }
});

test("listen addresses", () => {
  expect(parseAddr("127.0.0.1:5000")).toEqual({ hostname: "127.0.0.1", port: 5000 });
  expect(parseAddr(":5000")).toEqual({ hostname: "0.0.0.0", port: 5000 });
  expect(parseAddr("[::1]:0")).toEqual({ hostname: "::1", port: 0 });
  expect(parseAddr("localhost:443")).toEqual({ hostname: "localhost", port: 443 });
  for (const bad of ["5000", "host", "host:", "host:70000", "::1:5000", "a:b"]) {
    expect(() => parseAddr(bad)).toThrow(UsageError);
  }
});
