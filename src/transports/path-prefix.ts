/**
 * `--prefix P`: a repository path put in front of every destination
 * repository. Checked once, before anything is opened, against the same
 * path grammar a repository name follows, so a bad prefix is one clear
 * error rather than one failure per image at copy time.
 */
import { patterns } from "../reference/index.ts";
import { quote, TransportError } from "./errors.ts";

/** Longest repository name distribution accepts; a prefix leaves room for at least one more component. */
const NAME_MAX = 255;
const REMOTE_NAME = patterns.ANCHORED_REMOTE_NAME;

/**
 * The prefix as repository names will carry it (trailing slashes dropped,
 * as in `--prefix mirror/`). Throws TransportError `invalid-spec` naming
 * the rule the prefix breaks.
 */
export function checkPathPrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, "");
  const fail = (reason: string) => new TransportError("invalid-spec", `Invalid --prefix ${quote(prefix)}: ${reason}`);
  if (trimmed === "") throw fail("it is empty; leave --prefix out to keep each repository path as it is");
  if (trimmed.startsWith("/")) throw fail("a repository path does not start with /");
  if (trimmed.length >= NAME_MAX) throw fail(`a repository name has at most ${NAME_MAX} characters, and the prefix leaves no room`);
  if (!REMOTE_NAME.test(trimmed)) {
    if (REMOTE_NAME.test(trimmed.toLowerCase())) throw fail("repository paths are lowercase");
    throw fail("expected path components of [a-z0-9] joined by . _ __ or -, separated by /, e.g. mirror or site/mirror");
  }
  return trimmed;
}
