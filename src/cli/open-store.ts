/** Open an existing store directory for a maintenance command (gc, fsck): never create one by mistake. */
import { stat } from "node:fs/promises";
import { databasePath, Store } from "../store/index.ts";
import { CommandError } from "./command.ts";

export async function openExistingStore(root: string, command: string): Promise<Store> {
  try {
    await stat(databasePath(root));
  } catch {
    throw new CommandError(`${command}: no store at ${JSON.stringify(root)} (it has no ${JSON.stringify(databasePath(root))}); give its directory with --root`);
  }
  return Store.open({ root }).catch((error: Error) => {
    throw new CommandError(`${command}: cannot open the store at ${JSON.stringify(root)}: ${error.message}`);
  });
}
