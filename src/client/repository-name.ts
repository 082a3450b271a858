/**
 * Repository names are checked against the reference grammar before they
 * go into a URL. A registry answers a malformed name with anything from a
 * 404 page to a 500 (distribution 2.8 on `host:port/app`), which would be
 * retried as if the server were in trouble; a name that cannot be valid is
 * refused at once, as NAME_INVALID, saying why.
 */
import { OciError } from "../oci/index.ts";
import { NAME_TOTAL_LENGTH_MAX, patterns } from "../reference/index.ts";

/** Throw OciError NAME_INVALID unless `repository` is a repository path (`acme/app`) on `registry`. */
export function checkRepositoryName(registry: string, repository: string): void {
  const reason = repositoryNameProblem(repository);
  if (reason === undefined) return;
  const shown = repository.length > 200 ? `${repository.slice(0, 200)}…` : repository;
  throw new OciError("NAME_INVALID", `Invalid repository name ${JSON.stringify(shown)} for registry ${registry}: ${reason}`, { name: shown });
}

/** What is wrong with a repository name, or undefined when nothing is. */
export function repositoryNameProblem(repository: string): string | undefined {
  if (repository === "") return "the name is empty";
  if (repository.length > NAME_TOTAL_LENGTH_MAX) return `the name has ${repository.length} characters, more than ${NAME_TOTAL_LENGTH_MAX}`;
  if (patterns.ANCHORED_REMOTE_NAME.test(repository)) return undefined;
  const first = repository.split("/")[0]!;
  if (repository.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost")) {
    return `${JSON.stringify(first)} looks like a registry host; give the repository path on the registry (e.g. acme/app)`;
  }
  if (repository !== repository.toLowerCase() && patterns.ANCHORED_REMOTE_NAME.test(repository.toLowerCase())) {
    return "repository names are lowercase";
  }
  return "expected path components of [a-z0-9] joined by separators (., _, __, -), separated by /";
}
