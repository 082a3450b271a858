/** Run the CLI as a user does, in a child process or in-process: stdout, stderr and exit code together. */
import { resolve } from "node:path";
import type { Command } from "../../../src/cli/command.ts";
import { run } from "../../../src/cli/run.ts";

export const MAIN = resolve(import.meta.dir, "../../../src/main.ts");

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function stevedore(
  args: string[],
  command: string[] = [process.execPath, MAIN],
  env?: Record<string, string>,
): Promise<Outcome> {
  const child = Bun.spawn([...command, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env });
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    child.kill();
  }
}

export interface InProcessOptions {
  /** The environment the commands see; default: none at all. */
  env?: Record<string, string | undefined>;
  /** Standard input; default: the test process's own. */
  stdin?: string | ReadableStream<Uint8Array>;
  signal?: AbortSignal;
  /** Run this command (`argv` without its name) instead of dispatching by name: a command built with test dependencies. */
  command?: Command;
}

/** Run the CLI in this process (no child, no build): what a command prints and returns. */
export async function runCli(argv: string[], options: InProcessOptions = {}): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const { stdin } = options;
  const code = await (options.command?.run.bind(options.command) ?? run)({
    argv,
    stdout: { write: (t) => void (stdout += t) },
    stderr: { write: (t) => void (stderr += t) },
    env: options.env ?? {},
    signal: options.signal ?? new AbortController().signal,
    interactive: false,
    ...(stdin === undefined ? {} : { stdin: typeof stdin === "string" ? new Blob([stdin]).stream() : stdin }),
  });
  return { code, stdout, stderr };
}

/** The JSON lines of stdout, parsed. */
export const jsonLines = (stdout: string): unknown[] =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
