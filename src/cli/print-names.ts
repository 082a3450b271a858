/** What `ls` and `tags` share: names a registry lists, sorted, one per line or (--json) as one JSON array. */
import { RegistryClient } from "../client/index.ts";
import { type CommandContext, EXIT } from "./command.ts";
import { registryOptions } from "./registry-flags.ts";

export async function printNames(
  ctx: CommandContext,
  registry: string,
  values: Record<string, unknown> & { json?: boolean | undefined },
  list: (client: RegistryClient) => Promise<string[]>,
): Promise<number> {
  const client = RegistryClient.open(registry, await registryOptions(values, ctx));
  try {
    const names = (await list(client)).sort();
    ctx.stdout.write(values.json ? `${JSON.stringify(names)}\n` : names.map((n) => `${n}\n`).join(""));
  } finally {
    client.close();
  }
  return EXIT.ok;
}
