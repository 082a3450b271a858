/**
 * What every command is: a name, a help text, and a run function that maps
 * flags to one library call and returns an exit code.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface Output {
  write(text: string): void;
}

export interface CommandContext {
  /** Arguments after the command name. */
  argv: string[];
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** True when stderr is a terminal (progress bars). */
  interactive: boolean;
  /** Standard input; absent means the process's own (tests hand one in). */
  stdin?: ReadableStream<Uint8Array>;
}

export interface Command {
  name: string;
  /** One line for `stevedore --help`. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Bad usage: exit code 2 and a one-line message. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  constructor(
    message: string,
    /** The command whose `--help` to point at, if any. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A failure the user should read as it is, without a stack: exit code 1. */
export class CommandError extends Error {
  override readonly name = "CommandError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parse a command's flags strictly. Returns undefined after printing help
 * when `--help` was given; throws UsageError on unknown flags.
 */
export function parseFlags<const O extends Options>(
  ctx: CommandContext,
  command: Pick<Command, "name" | "help">,
  options: O,
): ParsedFlags<O> | undefined {
  const all: Options = { ...options, help: { type: "boolean", short: "h" } };
  let parsed;
  try {
    parsed = parseArgs({ args: ctx.argv, options: all, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${command.name}: ${cleanParseError((error as Error).message)}`, command.name);
  }
  if (parsed.values.help) {
    ctx.stdout.write(command.help.endsWith("\n") ? command.help : `${command.help}\n`);
    return undefined;
  }
  return parsed as unknown as ParsedFlags<O>;
}

type ParsedFlags<O extends Options> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true; strict: true }>>;

function cleanParseError(message: string): string {
  // node's messages carry a hint about "--" that does not help here.
  // One line on stderr, whatever parseArgs wrote.
  return message
    .replace(/\. To specify a positional argument.*$/s, "")
    .replace(/^Unknown option/, "unknown option")
    .replace(/\s*\n\s*/g, " ");
}
