/**
 * The conformance checks (the distribution-spec suite's four workflows and
 * its newer runner's cases) against the real `stevedore serve` process over
 * a socket, as the suite itself would drive it: each block gets a fresh
 * serve on a temp root, and none of its requests may be a server fault.
 */
import { expect } from "bun:test";
import { conformanceRunner } from "../helpers/conformance-runner.ts";
import { conformanceWorkflows, type RegistryUnderTest } from "../helpers/conformance-workflows.ts";
import { startServe } from "../helpers/stevedore-serve.ts";
import { serverFaults } from "./registry-api.ts";

async function serve(): Promise<RegistryUnderTest> {
  const running = await startServe();
  return {
    request: (path, init) => fetch(`${running.url}${path}`, init),
    async [Symbol.asyncDispose]() {
      expect(serverFaults(running.log())).toEqual([]);
      expect(await running.stop()).toBe(0);
    },
  };
}

conformanceWorkflows(serve);
await conformanceRunner(serve);
