import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseRegistryArgument } from "./image-argument.ts";
import { printNames } from "./print-names.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP } from "./registry-flags.ts";

export const lsCommand: Command = {
  name: "ls",
  summary: "List the repositories of a registry",
  help: `Usage: stevedore ls REGISTRY [--json] [registry flags]

Print the repositories of REGISTRY (host[:port]) one per line, sorted,
following the catalog's pagination.

Options:
  --json   print one JSON array instead
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { ...REGISTRY_FLAGS, json: { type: "boolean" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("ls: expected one REGISTRY");
    const { address } = parseRegistryArgument(flags.positionals[0]!);
    return printNames(ctx, address, flags.values, (client) => client.repositories());
  },
};
