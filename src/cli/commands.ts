/**
 * Every command, in the order `stevedore --help` lists them. Each entry
 * names the command and says what it does (all `--help` needs); its module
 * loads only when the command runs or shows its own help, so `--version`
 * and `serve` do not pay for the code of sync, bundle, export and the rest
 * at every start.
 */
import type { Command } from "./command.ts";

export interface CommandEntry {
  name: string;
  /** One line for `stevedore --help`; the same as the loaded command's summary. */
  summary: string;
  load(): Promise<Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "serve",
    summary: "Run the site registry (OCI Distribution API) on the embedded store",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  {
    name: "sync",
    summary: "Copy images between registries, layouts, archives and stores, moving only what is missing",
    load: async () => (await import("./sync.ts")).syncCommand,
  },
  {
    name: "push",
    summary: "Push one image into a registry, moving only what is missing",
    load: async () => (await import("./push.ts")).pushCommand,
  },
  {
    name: "bundle",
    summary: "Build offline bundles of images (create), look inside them (inspect, verify)",
    load: async () => (await import("./bundle.ts")).bundleCommand,
  },
  { name: "ls", summary: "List the repositories of a registry", load: async () => (await import("./ls.ts")).lsCommand },
  { name: "tags", summary: "List the tags of a repository", load: async () => (await import("./tags.ts")).tagsCommand },
  { name: "inspect", summary: "Show an image's manifest, config, or platforms", load: async () => (await import("./inspect.ts")).inspectCommand },
  { name: "exists", summary: "Tell whether a registry has an image (exit code)", load: async () => (await import("./exists.ts")).existsCommand },
  { name: "digest", summary: "Print the manifest digest of an image", load: async () => (await import("./digest.ts")).digestCommand },
  {
    name: "gc",
    summary: "Remove images no release needs from a store, and sweep unused blobs",
    load: async () => (await import("./gc.ts")).gcCommand,
  },
  {
    name: "fsck",
    summary: "Verify a store (every blob re-hashed, every reference checked) or a bundle",
    load: async () => (await import("./fsck.ts")).fsckCommand,
  },
  {
    name: "migrate",
    summary: "Copy a store between drivers (files and SQLite, PostgreSQL and S3), verified",
    load: async () => (await import("./migrate.ts")).migrateCommand,
  },
  { name: "login", summary: "Check credentials against a registry and store them", load: async () => (await import("./login.ts")).loginCommand },
  { name: "logout", summary: "Remove a registry's stored credentials", load: async () => (await import("./logout.ts")).logoutCommand },
  { name: "ref", summary: "Parse and normalise image references", load: async () => (await import("./ref.ts")).refCommand },
  {
    name: "rewrite",
    summary: "Point image references in Kubernetes YAML and Helm values at the site registry, and back",
    load: async () => (await import("./rewrite.ts")).rewriteCommand,
  },
  { name: "export", summary: "Flatten an image's layers into one root filesystem tar", load: async () => (await import("./export.ts")).exportCommand },
];
