/** Run the CLI as a user does, in a child process: stdout, stderr and exit code together. */
import { resolve } from "node:path";

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

/** The JSON lines of stdout, parsed. */
export const jsonLines = (stdout: string): unknown[] =>
  stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
