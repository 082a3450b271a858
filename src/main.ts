#!/usr/bin/env bun
/** The executable: signals become an AbortSignal, the exit code comes from the command. */
import { run } from "./cli/run.ts";

const controller = new AbortController();
let interrupts = 0;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    // A second signal means "now": do not wait for a graceful stop.
    if (++interrupts > 1) process.exit(130);
    controller.abort(new Error(`received ${signal}`));
  });
}

const code = await run({
  argv: process.argv.slice(2),
  stdout: { write: (text) => void process.stdout.write(text) },
  stderr: { write: (text) => void process.stderr.write(text) },
  env: process.env,
  signal: controller.signal,
  interactive: Boolean(process.stderr.isTTY),
});
process.exitCode = code;
