import {
  type DigestReference,
  parseAnyReference,
  parseNormalizedReference,
  Reference,
  ReferenceError,
} from "../reference/index.ts";
import { type Command, EXIT, parseFlags, UsageError } from "./command.ts";

export const refCommand: Command = {
  name: "ref",
  summary: "Parse and normalise image references",
  help: `Usage: stevedore ref [--json] [--any] INPUT...

Parse each INPUT as docker does (docker.io and library/ are filled in) and
print its familiar and its full form. Exit code 1 when any input is invalid.

Options:
  --json   one JSON object per input per line:
           {"input","name","domain","path","tag","digest","familiar"}
           (absent parts left out) or {"input","error"}
  --any    also accept a 64-hex image id or a bare digest
  -h, --help

Put inputs that start with "-" after "--".`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, { json: { type: "boolean" }, any: { type: "boolean" } });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length === 0) throw new UsageError("ref: expected at least one INPUT", "ref");
    let failed = false;
    for (const input of flags.positionals) {
      let parsed: Reference | DigestReference;
      try {
        parsed = flags.values.any ? parseAnyReference(input) : parseNormalizedReference(input);
      } catch (error) {
        if (!(error instanceof ReferenceError)) throw error;
        failed = true;
        if (flags.values.json) ctx.stdout.write(`${JSON.stringify({ input, error: error.message })}\n`);
        else ctx.stderr.write(`stevedore: ${error.describe()}\n`);
        continue;
      }
      const fields = describe(input, parsed);
      if (flags.values.json) ctx.stdout.write(`${JSON.stringify(fields)}\n`);
      else ctx.stdout.write(`${fields.familiar}\t${parsed.toString()}\n`);
    }
    return failed ? EXIT.failure : EXIT.ok;
  },
};

/** The JSON fields of one parsed input; parts the input does not have are left out. */
function describe(input: string, ref: Reference | DigestReference) {
  if (!(ref instanceof Reference)) return { input, digest: ref.digest, familiar: ref.digest };
  return {
    input,
    name: ref.name,
    // Empty only for a name whose candidate domain the grammar refused (`foo_bar.com/app`).
    ...(ref.domain ? { domain: ref.domain } : {}),
    path: ref.path,
    ...(ref.tag ? { tag: ref.tag } : {}),
    ...(ref.digest ? { digest: ref.digest } : {}),
    familiar: ref.familiarString(),
  };
}
