import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseImageArgument } from "./image-argument.ts";
import { printNames } from "./print-names.ts";
import { REGISTRY_FLAGS, REGISTRY_FLAGS_HELP } from "./registry-flags.ts";

export const tagsCommand: Command = {
  name: "tags",
  summary: "List the tags of a repository",
  help: `Usage: stevedore tags REPOSITORY [--json] [registry flags]

Print the tags of REPOSITORY (a docker-style name: site:5000/acme/app,
nginx for docker.io/library/nginx) one per line, sorted.

Options:
  --json   print one JSON array instead
  -h, --help

${REGISTRY_FLAGS_HELP}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { ...REGISTRY_FLAGS, json: { type: "boolean" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("tags: expected one REPOSITORY");
    const repo = parseImageArgument(flags.positionals[0]!, { defaultTag: false });
    if (repo.name.tag || repo.name.digest) throw new UsageError(`tags: expected a repository without tag or digest, got ${JSON.stringify(flags.positionals[0])}`);
    return printNames(ctx, repo.registry, flags.values, (client) => client.tags(repo.repository));
  },
};
