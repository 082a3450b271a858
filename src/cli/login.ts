import { dockerConfigPath, RegistryClient, registryEndpoint, storeCredentials } from "../client/index.ts";
import { OciError } from "../oci/index.ts";
import { type Command, CommandError, EXIT, parseFlags, UsageError } from "./command.ts";
import { parseRegistryArgument } from "./image-argument.ts";
import { readPasswordStdin, REGISTRY_FLAGS, REGISTRY_FLAGS_HELP, registryOptions } from "./registry-flags.ts";

// The password checked is the one given here, so the credential flags do not apply.
const { creds: _creds, authfile: _authfile, username: _username, "password-stdin": _passwordStdin, ...TLS_FLAGS } = REGISTRY_FLAGS;

export const loginCommand: Command = {
  name: "login",
  summary: "Check credentials against a registry and store them",
  help: `Usage: stevedore login REGISTRY -u USER (--password-stdin | -p PASSWORD) [options]

Verify USER's password against REGISTRY, then store it (base64, as docker
does) in the docker config.json: $DOCKER_CONFIG/config.json, else
~/.docker/config.json, or in the credential helper that file names.
docker, podman and skopeo read what is stored there, and so does every
stevedore command.

Options:
  -u, --username USER
  --password-stdin     read the password from standard input (trailing newline dropped)
  -p, --password PASS  the password on the command line (visible to other users; avoid)
  --authfile FILE      store in FILE instead of docker's config.json
  -h, --help

${REGISTRY_FLAGS_HELP.split("\n").filter((l) => !/--creds|--authfile|--username|--password-stdin|default: docker config/.test(l)).join("\n")}`,
  async run(ctx) {
    const flags = parseFlags(ctx, this, {
      ...TLS_FLAGS,
      username: { type: "string", short: "u" },
      password: { type: "string", short: "p" },
      "password-stdin": { type: "boolean" },
      authfile: { type: "string" },
    });
    if (!flags) return EXIT.ok;
    if (flags.positionals.length !== 1) throw new UsageError("login: expected one REGISTRY");
    const { address, registry } = parseRegistryArgument(flags.positionals[0]!);
    const username = flags.values.username;
    if (!username) throw new UsageError("login: a user name is needed (-u USER)");
    if (flags.values.password !== undefined && flags.values["password-stdin"]) throw new UsageError("login: --password and --password-stdin exclude each other");
    let password = flags.values.password;
    if (password !== undefined) ctx.stderr.write("WARNING! Using --password on the command line is insecure. Use --password-stdin.\n");
    else if (flags.values["password-stdin"]) password = await readPasswordStdin(ctx);
    else throw new UsageError("login: give the password with --password-stdin (or -p)");
    if (!password) throw new UsageError("login: the password is empty");

    const { authfile, username: _u, password: _p, "password-stdin": _ps, ...tls } = flags.values;
    const options = await registryOptions(tls, ctx);
    const client = RegistryClient.open(address, { ...options, credentials: { username, password } });
    try {
      await client.checkAccess();
    } catch (error) {
      if (OciError.is(error, "UNAUTHORIZED") || OciError.is(error, "DENIED")) {
        throw new CommandError(`login to ${registry} failed: the registry refused the credentials of ${JSON.stringify(username)}`);
      }
      throw error;
    } finally {
      client.close();
    }
    const path = authfile ?? dockerConfigPath(ctx.env);
    await storeCredentials(path, registryEndpoint(address), { username, password }, { env: ctx.env });
    ctx.stdout.write("Login Succeeded\n");
    return EXIT.ok;
  },
};
