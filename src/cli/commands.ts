/** Every command, in the order `stevedore --help` lists them. */
import type { Command } from "./command.ts";
import { refCommand } from "./ref.ts";
import { rewriteCommand } from "./rewrite.ts";

export const COMMANDS: readonly Command[] = [refCommand, rewriteCommand];
