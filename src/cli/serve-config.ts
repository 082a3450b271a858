/**
 * `stevedore serve --config FILE`: the serve flags in a YAML (or JSON)
 * file, under the same names, plus the gc schedule. Flags given on the
 * command line win over the file. Relative paths in the file are relative
 * to the file's directory, so a unit file can point at one config and be
 * done.
 *
 *   addr: 0.0.0.0:5000
 *   root: /var/lib/stevedore
 *   admin-addr: 127.0.0.1:5001
 *   admin-token-file: /etc/stevedore/admin-token
 *   gc:
 *     interval: 24h
 *     keep: [/var/lib/stevedore-releases/app-7.1.tar]
 *     retention: { keep-recent: 3, tags: "7\\..*" }
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { z } from "zod";
import { systemErrorReason } from "../oci/index.ts";
import { CommandError } from "./command.ts";

const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const duration = z.string().regex(DURATION, "expected a duration such as 24h, 90m, 1h30m, 45s");
const path = z.string().min(1);

const gcSchema = z
  .object({
    /** How often a gc job runs inside serve; absent: never on its own. */
    interval: duration,
    /** Image lists or bundles whose images must stay (as `stevedore gc --keep`). */
    keep: z.array(path).optional(),
    /** The images were synced under this repository prefix. */
    prefix: z.string().min(1).optional(),
    "delete-untagged": z.boolean().optional(),
    grace: z.union([z.literal("0"), duration]).optional(),
    "dry-run": z.boolean().optional(),
    retention: z
      .object({
        "keep-recent": z.number().int().min(1).optional(),
        "keep-within": duration.optional(),
        tags: z
          .string()
          .refine((s) => {
            try {
              new RegExp(s);
              return true;
            } catch {
              return false;
            }
          }, "not a valid regular expression")
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const serveConfigSchema = z
  .object({
    addr: z.string().optional(),
    root: path.optional(),
    "tls-cert": path.optional(),
    "tls-key": path.optional(),
    htpasswd: path.optional(),
    "read-only": z.boolean().optional(),
    "no-delete": z.boolean().optional(),
    "log-format": z.enum(["text", "json"]).optional(),
    "upload-ttl": duration.optional(),
    "admin-addr": z.string().optional(),
    "admin-token-file": path.optional(),
    metadata: z.string().min(1).optional(),
    blobs: z.string().min(1).optional(),
    "s3-endpoint": z.string().min(1).optional(),
    "s3-region": z.string().min(1).optional(),
    "s3-part-size": z.string().regex(/^\d+(?:[KMG]i?B?)?$/i, "expected a size such as 16MiB").optional(),
    "blob-redirect": z.boolean().optional(),
    gc: gcSchema.optional(),
  })
  .strict();

export type ServeConfig = z.infer<typeof serveConfigSchema>;
export type GcSchedule = z.infer<typeof gcSchema>;

const PATH_KEYS = ["root", "tls-cert", "tls-key", "htpasswd", "admin-token-file"] as const;

/** Read, parse and validate a config file; every problem is one CommandError line naming the file. */
export async function loadServeConfig(file: string): Promise<ServeConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CommandError(`Cannot read config file ${JSON.stringify(file)}: ${systemErrorReason(error)}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const at = lines.linePos(syntax.pos[0]);
    throw new CommandError(`config file ${JSON.stringify(file)}, line ${at.line}: ${syntax.message.split("\n")[0]}`);
  }
  const value = doc.toJS() ?? {};
  const result = serveConfigSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join(".") : "(top level)";
    throw new CommandError(`config file ${JSON.stringify(file)}: ${where}: ${issue.message}`);
  }
  const config = result.data;
  const base = dirname(resolve(file));
  for (const key of PATH_KEYS) if (config[key] !== undefined) config[key] = resolve(base, config[key]);
  if (config.gc?.keep) config.gc.keep = config.gc.keep.map((p) => resolve(base, p));
  return config;
}
