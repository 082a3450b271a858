import { expect, test } from "bun:test";
import { COMMANDS } from "../../../src/cli/commands.ts";
import { VERSION } from "../../../src/version.ts";
import { stevedore } from "./run.ts";

test("--help lists every command with its summary", async () => {
  const result = await stevedore(["--help"]);
  expect([result.code, result.stderr]).toEqual([0, ""]);
  expect(result.stdout).toContain("Usage: stevedore COMMAND [OPTIONS]");
  for (const command of COMMANDS) expect(result.stdout).toMatch(new RegExp(`\\n  ${command.name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\n`));
  expect(await stevedore(["-h"])).toEqual(result);
  expect(await stevedore(["help"])).toEqual(result);
});

test("no command: the help, and exit code 2", async () => {
  const help = await stevedore(["--help"]);
  expect(await stevedore([])).toEqual({ ...help, code: 2 });
});

test("--version", async () => {
  const expected = { code: 0, stdout: `stevedore ${VERSION}\n`, stderr: "" };
  expect(await stevedore(["--version"])).toEqual(expected);
  expect(await stevedore(["-v"])).toEqual(expected);
  expect(await stevedore(["version"])).toEqual(expected);
});

test.each([
  [["bogus"], `stevedore: unknown command "bogus" (see 'stevedore --help')\n`],
  [["--bogus"], `stevedore: unknown option "--bogus" (see 'stevedore --help')\n`],
  [["--bogus", "ref"], `stevedore: unknown option "--bogus" (see 'stevedore --help')\n`],
])("%p: exit code 2, one line on stderr", async (args, stderr) => {
  expect(await stevedore(args)).toEqual({ code: 2, stdout: "", stderr });
});

test("every command answers --help with exit code 0 and nothing on stderr", async () => {
  for (const command of COMMANDS) {
    const result = await stevedore([command.name, "--help"]);
    expect([command.name, result.code, result.stderr, result.stdout.length > 0]).toEqual([command.name, 0, "", true]);
  }
});

test("each command's module is the command its entry names and sums up", async () => {
  for (const entry of COMMANDS) {
    const command = await entry.load();
    expect({ name: command.name, summary: command.summary }).toEqual({ name: entry.name, summary: entry.summary });
  }
});
