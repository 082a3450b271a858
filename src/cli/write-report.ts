/**
 * How the store commands (gc, fsck, migrate) end: the report on stdout,
 * JSON with --json, else text; an interrupted run says what it leaves on
 * stderr and exits 130.
 */
import { type CommandContext, EXIT } from "./command.ts";

export function writeReport<R extends { interrupted?: boolean }>(
  ctx: CommandContext,
  report: R,
  json: boolean | undefined,
  format: (report: R) => string,
  interrupted: string,
): number {
  ctx.stdout.write(json ? `${JSON.stringify(report)}\n` : format(report));
  if (!report.interrupted) return EXIT.ok;
  ctx.stderr.write(`stevedore: ${interrupted}\n`);
  return 130;
}
