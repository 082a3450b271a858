/**
 * docker credential helpers: `docker-credential-NAME get|store|erase`,
 * speaking JSON on stdin/stdout. A helper that says "credentials not found"
 * is not an error: the registry is then used anonymously.
 */
import { z } from "zod";
import { type Credentials, CredentialsError } from "./credentials.ts";

const helperReply = z.object({ Username: z.string().optional(), Secret: z.string() });

/** docker's marker: the secret is an identity token, not a password. */
const IDENTITY_TOKEN_USER = "<token>";

export interface HelperOptions {
  env?: Record<string, string | undefined>;
}

async function runHelper(name: string, action: string, input: string, options: HelperOptions) {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CredentialsError(`Invalid credential helper name ${JSON.stringify(name)}`);
  const program = `docker-credential-${name}`;
  let child;
  try {
    child = Bun.spawn([program, action], {
      stdin: new TextEncoder().encode(input),
      stdout: "pipe",
      stderr: "pipe",
      env: options.env as Record<string, string> | undefined,
    });
  } catch (error) {
    throw new CredentialsError(`Cannot run credential helper ${program}: ${(error as Error).message}`);
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { program, stdout, stderr, code };
}

/** Ask a helper for a registry's credentials; undefined when it has none. */
export async function helperGet(name: string, serverUrl: string, options: HelperOptions = {}): Promise<Credentials | undefined> {
  const { program, stdout, code } = await runHelper(name, "get", serverUrl, options);
  if (code !== 0) {
    // Helpers print "credentials not found in native keychain" on stdout and exit 1.
    if (/not found/i.test(stdout)) return undefined;
    throw new CredentialsError(`Credential helper ${program} failed for ${serverUrl} (exit ${code}): ${stdout.trim()}`);
  }
  let reply;
  try {
    reply = helperReply.parse(JSON.parse(stdout));
  } catch {
    throw new CredentialsError(`Credential helper ${program} answered with something other than credentials JSON`);
  }
  if (reply.Username === IDENTITY_TOKEN_USER) return { identityToken: reply.Secret };
  if (!reply.Username && !reply.Secret) return undefined;
  return { username: reply.Username ?? "", password: reply.Secret };
}

export async function helperStore(
  name: string,
  serverUrl: string,
  credentials: { username: string; password: string },
  options: HelperOptions = {},
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverUrl, Username: credentials.username, Secret: credentials.password });
  const { program, stdout, stderr, code } = await runHelper(name, "store", input, options);
  if (code !== 0) throw new CredentialsError(`Credential helper ${program} could not store credentials: ${(stdout || stderr).trim()}`);
}

export async function helperErase(name: string, serverUrl: string, options: HelperOptions = {}): Promise<void> {
  const { program, stdout, stderr, code } = await runHelper(name, "erase", serverUrl, options);
  if (code !== 0 && !/not found/i.test(stdout)) {
    throw new CredentialsError(`Credential helper ${program} could not erase credentials: ${(stdout || stderr).trim()}`);
  }
}
