import { dockerConfigPath, registryEndpoint, removeCredentials } from "../client/index.ts";
import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseRegistryArgument } from "./image-argument.ts";

export const logoutCommand: Command = {
  name: "logout",
  summary: "Remove a registry's stored credentials",
  help: `Usage: stevedore logout REGISTRY [--authfile FILE]

Remove REGISTRY's credentials from the docker config.json
($DOCKER_CONFIG/config.json, else ~/.docker/config.json), or from the
credential helper that file names. Other entries are kept.

Options:
  --authfile FILE   remove from FILE instead of docker's config.json
  -h, --help`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { authfile: { type: "string" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("logout: expected one REGISTRY");
    const { address, registry } = parseRegistryArgument(flags.positionals[0]!);
    const path = flags.values.authfile ?? dockerConfigPath(ctx.env);
    const removed = await removeCredentials(path, registryEndpoint(address), { env: ctx.env });
    ctx.stdout.write(removed ? `Removed login credentials for ${registry}\n` : `Not logged in to ${registry}\n`);
    return EXIT.ok;
  },
};
