import { expect, test } from "bun:test";
import { mkdir, readFile } from "node:fs/promises";
import { describeSystemError, systemErrorCode, systemErrorReason } from "../../../src/oci/index.ts";

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

test("errors from the operating system in words, naming the action and the file", async () => {
  const missing = await failure(readFile("/no/such/file"));
  const exists = await failure(mkdir("/"));
  const full = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });
  const odd = Object.assign(new Error("ESOMETHING: odd thing happened, open '/x'"), { code: "ESOMETHING", syscall: "open", path: "/x" });
  expect([missing, exists, full, odd].map((e) => [systemErrorCode(e), systemErrorReason(e), describeSystemError(e)])).toEqual([
    ["ENOENT", "no such file", 'Cannot open "/no/such/file": no such file'],
    ["EEXIST", "it already exists", 'Cannot create the directory "/": it already exists'],
    ["ENOSPC", "no space left on the device", "Cannot write: no space left on the device"],
    ["ESOMETHING", "odd thing happened", 'Cannot open "/x": odd thing happened'],
  ]);
});

test("other errors keep their message; codes that are not errno codes are not taken for one", () => {
  const plain = new Error("the registry said no");
  const node = Object.assign(new Error("bad argument"), { code: "ERR_INVALID_ARG_TYPE" });
  const sqlite = Object.assign(new Error("database is locked"), { code: "SQLITE_BUSY" });
  expect([plain, node, sqlite, "text"].map((e) => [systemErrorCode(e), systemErrorReason(e), describeSystemError(e)])).toEqual([
    [undefined, "the registry said no", "the registry said no"],
    [undefined, "bad argument", "bad argument"],
    [undefined, "database is locked", "database is locked"],
    [undefined, "text", "text"],
  ]);
});
