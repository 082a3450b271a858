/** Every command, in the order `stevedore --help` lists them. */
import type { Command } from "./command.ts";
import { pushCommand } from "./push.ts";
import { refCommand } from "./ref.ts";
import { rewriteCommand } from "./rewrite.ts";
import { syncCommand } from "./sync.ts";

export const COMMANDS: readonly Command[] = [syncCommand, pushCommand, refCommand, rewriteCommand];
