/**
 * A temporary PostgreSQL cluster (Debian's `postgresql` package), started
 * once per test process on a free loopback port and stopped when the
 * process ends. Each caller gets a database of its own:
 *
 *   const url = await postgresDatabase();   // postgres://postgres@127.0.0.1:PORT/t_…
 *
 * As root, initdb and the server run as the `postgres` user (they refuse
 * to run as root). Throws (the test fails) when PostgreSQL cannot start.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { chmod, chown } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { SQL } from "bun";
import { freePort, onProcessEnd, sh } from "./janitor.ts";

export interface PostgresCluster {
  port: number;
  dir: string;
  /** A URL to `database` (default: the cluster's own `postgres` database). */
  url(database?: string): string;
}

let cluster: Promise<PostgresCluster> | undefined;

/** The cluster this test process shares (started on first use). */
export function startPostgres(): Promise<PostgresCluster> {
  cluster ??= createPostgresCluster();
  return cluster;
}

/** A fresh, empty database in `cluster` (default: the shared one). */
export async function postgresDatabase(cluster?: PostgresCluster, prefix = "t"): Promise<string> {
  const pg = cluster ?? (await startPostgres());
  const name = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = new SQL(pg.url());
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  return pg.url(name);
}

function binDir(): string {
  for (const version of ["17", "16", "15", "14", "13"]) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(dir, "initdb"))) return dir;
  }
  throw new Error("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql)");
}

/**
 * A cluster of its own, stopped when the process ends. `durable: false`
 * (the tests' default) turns fsync off; benchmarks keep it on.
 */
export async function createPostgresCluster(options: { durable?: boolean } = {}): Promise<PostgresCluster> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "stevedore-pg-"));
  const data = join(dir, "data");
  const asRoot = userInfo().uid === 0;
  const runAs = (cmd: string[]) => (asRoot ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd);
  if (asRoot) {
    const { uid, gid } = await postgresIds();
    await chown(dir, uid, gid);
  }
  await chmod(dir, 0o700);
  const port = freePort();
  const stop = `${runAs([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]).map(sh).join(" ")} >/dev/null 2>&1; rm -rf ${sh(dir)}`;
  onProcessEnd(stop);
  await run(runAs([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]), "initdb");
  await run(
    runAs([
      join(bin, "pg_ctl"), "-D", data, "-l", join(dir, "server.log"), "-w", "-t", "30",
      // Sockets in the temp dir (not /var/run/postgresql); loopback TCP only.
      "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=300${options.durable ? "" : " -c fsync=off"}`,
      "start",
    ]),
    "pg_ctl start",
    join(dir, "server.log"),
  );
  return {
    port,
    dir,
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const out = await run(["id", "-u", "postgres"], "id postgres");
  const gid = await run(["id", "-g", "postgres"], "id postgres");
  return { uid: Number(out.trim()), gid: Number(gid.trim()) };
}

async function run(cmd: string[], what: string, log?: string): Promise<string> {
  const child = Bun.spawn(cmd, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) {
    const tail = log && existsSync(log) ? `\n${(await Bun.file(log).text()).slice(-2000)}` : "";
    throw new Error(`PostgreSQL: ${what} failed (exit ${code}): ${stderr || stdout}${tail}`);
  }
  return stdout;
}
