/** Every command, in the order `stevedore --help` lists them. */
import { bundleCommand } from "./bundle.ts";
import type { Command } from "./command.ts";
import { digestCommand } from "./digest.ts";
import { existsCommand } from "./exists.ts";
import { exportCommand } from "./export.ts";
import { fsckCommand } from "./fsck.ts";
import { gcCommand } from "./gc.ts";
import { inspectCommand } from "./inspect.ts";
import { loginCommand } from "./login.ts";
import { logoutCommand } from "./logout.ts";
import { lsCommand } from "./ls.ts";
import { migrateCommand } from "./migrate.ts";
import { pushCommand } from "./push.ts";
import { refCommand } from "./ref.ts";
import { rewriteCommand } from "./rewrite.ts";
import { serveCommand } from "./serve.ts";
import { syncCommand } from "./sync.ts";
import { tagsCommand } from "./tags.ts";

export const COMMANDS: readonly Command[] = [
  serveCommand,
  syncCommand,
  pushCommand,
  bundleCommand,
  lsCommand,
  tagsCommand,
  inspectCommand,
  existsCommand,
  digestCommand,
  gcCommand,
  fsckCommand,
  migrateCommand,
  loginCommand,
  logoutCommand,
  refCommand,
  rewriteCommand,
  exportCommand,
];
