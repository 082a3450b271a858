/** Fill a real registry with generated images through skopeo, as a user would. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type GeneratedManifest, writeOciLayout } from "./images.ts";

export async function skopeo(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = Bun.spawn(["skopeo", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, code };
}

/** Push each image (by its tag) to `host/repository:tag` with `skopeo copy --all`. */
export async function pushImages(
  host: string,
  images: { image: GeneratedManifest; repository: string; tag: string }[],
  options: { creds?: string; tlsVerify?: boolean } = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-push-"));
  try {
    const named = images.map(({ image, tag }) => ({ ...image, name: `example.com/x:${tag}` }));
    await writeOciLayout(dir, named, { refName: "tag" });
    for (const { repository, tag } of images) {
      const result = await skopeo([
        "copy", "--all", "--quiet",
        `--dest-tls-verify=${options.tlsVerify ?? false}`,
        ...(options.creds ? ["--dest-creds", options.creds] : []),
        `oci:${dir}:${tag}`,
        `docker://${host}/${repository}:${tag}`,
      ]);
      if (result.code !== 0) throw new Error(`skopeo copy to ${host}/${repository}:${tag} failed: ${result.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
