/**
 * Clean-up that runs when this test process ends, however it ends: `bun
 * test` exits without running exit handlers, so a detached shell waits for
 * this process to be gone and then runs the command (stop a database,
 * stop Ceph, remove a temp dir).
 */
import { spawn } from "node:child_process";

export function onProcessEnd(command: string): void {
  const child = spawn("bash", ["-c", `tail --pid=${process.pid} -f /dev/null; ${command}`], {
    detached: true,
    stdio: "ignore",
  });
  child.unref();
}

/** A free TCP port on 127.0.0.1 for daemons that cannot take port 0. */
export function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/** Quote for bash. */
export const sh = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;
