/**
 * Large blobs through the Distribution API with curl, the same way into
 * either registry: bodies stream from a file (curl is C and cheap on CPU,
 * which matters on a small machine), downloads go to /dev/null.
 */
import { check, runTimed } from "./proc.ts";
import type { RandomBlob } from "./workload.ts";

/** Resolve an upload `Location` and add a query parameter. */
function withParam(base: string, location: string, name: string, value: string): string {
  const url = new URL(location, base);
  url.searchParams.set(name, value);
  return url.toString();
}

async function startUpload(registry: string, repository: string): Promise<string> {
  const response = await fetch(`${registry}/v2/${repository}/blobs/uploads/`, { method: "POST" });
  await response.arrayBuffer();
  const location = response.headers.get("location");
  if (response.status !== 202 || !location) throw new Error(`POST upload: ${response.status}`);
  return new URL(location, registry).toString();
}

const CURL = ["curl", "--silent", "--show-error", "--fail", "--http1.1", "-H", "Expect:", "-o", "/dev/null"];

/**
 * Push as skopeo does: POST a session, PATCH the whole body streamed, PUT
 * `?digest=` to finish. Returns the seconds from POST to the final 201.
 */
export async function pushBlob(registry: string, repository: string, blob: RandomBlob): Promise<number> {
  const started = performance.now();
  const session = await startUpload(registry, repository);
  const patched = check(
    await runTimed([
      ...CURL, "-D", "-", "-X", "PATCH", "-H", "Content-Type: application/octet-stream", "-T", blob.path, session,
    ]),
    "PATCH upload",
  );
  const location = /^location:\s*(\S+)/im.exec(patched.stdout)?.[1];
  if (!location) throw new Error(`PATCH upload: no Location in ${JSON.stringify(patched.stdout.slice(0, 300))}`);
  const response = await fetch(withParam(registry, location, "digest", blob.digest), { method: "PUT" });
  await response.arrayBuffer();
  if (response.status !== 201) throw new Error(`PUT upload: ${response.status}`);
  return (performance.now() - started) / 1000;
}

/**
 * Download the blob with `clients` curl processes at once, each `rounds`
 * times in a row; the rate counts every byte over the wall-clock time.
 */
export async function downloadBlob(registry: string, repository: string, blob: RandomBlob, clients: number, rounds: number): Promise<number> {
  const url = `${registry}/v2/${repository}/blobs/${blob.digest}`;
  const started = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < rounds; i++) {
        const ran = check(await runTimed([...CURL, "-w", "%{size_download}", url]), `GET blob (${clients} clients)`);
        bytes += Number(ran.stdout);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (bytes !== blob.size * clients * rounds) throw new Error(`downloaded ${bytes} bytes, expected ${blob.size * clients * rounds}`);
  return bytes / 1e6 / seconds;
}
