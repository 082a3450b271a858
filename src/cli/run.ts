/**
 * Dispatch: find the command, run it, turn errors into one line on stderr
 * and an exit code (2 for usage, 1 for failures).
 */
// The files themselves, not the modules' index: this runs at every start, before any command loads.
import { DigestError } from "../digest/digest.ts";
import { OciError } from "../oci/errors.ts";
import { describeSystemError } from "../oci/system-error.ts";
import { ReferenceError } from "../reference/errors.ts";
import { VERSION } from "../version.ts";
import { type CommandContext, CommandError, EXIT, UsageError } from "./command.ts";
import { COMMANDS } from "./commands.ts";

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `stevedore ${VERSION} — host and fill the container registry of an air-gapped site

Usage: stevedore COMMAND [OPTIONS]

Commands:
${lines.join("\n")}

Run 'stevedore COMMAND --help' for a command's options.
`;
}

export async function run(ctx: CommandContext): Promise<number> {
  const [name, ...rest] = ctx.argv;
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      ctx.stdout.write(mainHelp());
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    if (name === "--version" || name === "-v" || name === "version") {
      ctx.stdout.write(`stevedore ${VERSION}\n`);
      return EXIT.ok;
    }
    if (name.startsWith("-")) throw new UsageError(`unknown option ${JSON.stringify(name)}`);
    const entry = COMMANDS.find((c) => c.name === name);
    if (!entry) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const command = await entry.load();
    return await command.run({ ...ctx, argv: rest });
  } catch (error) {
    return report(ctx, error);
  }
}

function report(ctx: CommandContext, error: unknown): number {
  if (error instanceof UsageError) {
    const help = error.command ? `stevedore ${error.command} --help` : "stevedore --help";
    ctx.stderr.write(`stevedore: ${error.message} (see '${help}')\n`);
    return EXIT.usage;
  }
  if (error instanceof CommandError) {
    ctx.stderr.write(`stevedore: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof ReferenceError || error instanceof DigestError) {
    ctx.stderr.write(`stevedore: ${error.describe()}\n`);
    return EXIT.failure;
  }
  if (error instanceof OciError) {
    ctx.stderr.write(`stevedore: ${error.code}: ${error.message}\n`);
    return EXIT.failure;
  }
  if (ctx.signal.aborted) {
    ctx.stderr.write("stevedore: interrupted\n");
    return 130;
  }
  // A system error nothing above caught: the action, the file, the reason in words (not ENOENT).
  ctx.stderr.write(`stevedore: ${describeSystemError(error)}\n`);
  if (ctx.env.STEVEDORE_DEBUG && error instanceof Error && error.stack) ctx.stderr.write(`${error.stack}\n`);
  return EXIT.failure;
}
