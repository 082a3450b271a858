/**
 * The admin status page in a real browser: Debian's headless Chromium,
 * driven by playwright-core, against a real `stevedore serve`. The page
 * gets the token from `?token=` (and drops it from the address), lists
 * what the test pushed with its tags, and shows a sync job started from its
 * form progressing to done. Fails when chromium is not installed.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { isClosable } from "../../src/oci/index.ts";
import { syncImages } from "../../src/sync/index.ts";
import { openDestination, openSource } from "../../src/transports/index.ts";
import { generateImage, generateMultiArch, writeOciLayout } from "../helpers/images.ts";
import { stallingRegistry } from "../helpers/stalling-registry.ts";
import { startServe } from "../helpers/stevedore-serve.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "browser-test-token-0123456789abcdef";
const dir = mkdtempSync(join(tmpdir(), "stevedore-status-page-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function launch(): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is not installed; the status page test drives the real browser (apt-get install chromium)`);
  // A new, empty profile; never a downloaded browser.
  return chromium.launchPersistentContext(mkdtempSync(join(dir, "profile-")), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

test("the status page lists pushed images and shows a sync job progressing to done", async () => {
  const app = await generateImage({ name: "docker.io/acme/web:1.4", seed: "page-web" });
  const multi = await generateMultiArch("docker.io/library/tools:2", { seed: "page-tools" });
  const layout = join(dir, "pushed");
  await writeOciLayout(layout, [app, multi]);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  const slow = stallingRegistry({ layerSize: 3 * 1024 * 1024 });
  await using serve = await startServe({ args: ["--admin-addr", "127.0.0.1:0", "--admin-token-file", tokenFile] });
  const admin = (await serve.waitFor(/admin API on (http:\/\/\S+)/))[1]!;
  const source = await openSource(`oci:${layout}`);
  const destination = await openDestination(serve.host);
  try {
    expect((await syncImages(source, destination)).images.failed).toBe(0);
  } finally {
    for (const home of [source.home, destination.home]) if (isClosable(home)) await home.close();
  }

  const browser = await launch();
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const failures: string[] = [];
    page.on("pageerror", (error) => failures.push(error.message));
    await page.goto(`${admin}/?token=${TOKEN}`);

    // The repositories the test pushed, with their tag counts; the token left the address bar.
    const repositories = () => page.locator("#repositories tr").evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.repository));
    await page.waitForFunction(() => document.querySelectorAll("#repositories tr").length === 2);
    expect(await repositories()).toEqual(["acme/web", "library/tools"]);
    expect(new URL(page.url()).search).toBe("");
    expect(await page.locator('#repositories tr[data-repository="acme/web"] td').nth(1).textContent()).toBe("1");
    expect(await page.locator('[data-testid="usage-stored"]').textContent()).toMatch(/ in \d+ blobs$/);

    // Tags of the multi-arch repository, with its platforms.
    await page.locator('#repositories tr[data-repository="library/tools"]').click();
    const tag = page.locator('#tags tr[data-tag="2"]');
    await tag.waitFor();
    expect(await tag.locator("td").nth(2).textContent()).toBe("linux/amd64, linux/arm64/v8");

    // Start a sync from the form; the source holds its layer back until the page shows the job running.
    await page.fill("#sync-source", slow.source);
    await page.fill("#sync-prefix", "imported");
    await page.click("#sync-start");
    const job = page.locator("#jobs tr").first();
    await job.locator("td.state", { hasText: "running" }).waitFor();
    await slow.streaming;
    // Bytes moved show up while the job runs (the page polls while something is active).
    await page.waitForFunction(() => /^[1-9][\d.]* (B|KiB|MiB) \/ 3\.0 MiB$/.test(document.querySelectorAll("#jobs tr td.num")[1]?.textContent ?? ""), null, { timeout: 15_000 });
    const width = await job.locator(".bar > div").evaluate((el) => (el as HTMLElement).style.width);
    expect(Number.parseFloat(width)).toBeGreaterThan(0);
    expect(Number.parseFloat(width)).toBeLessThan(100);
    slow.release();
    await job.locator("td.state", { hasText: "succeeded" }).waitFor({ timeout: 20_000 });
    expect(await job.getAttribute("data-state")).toBe("succeeded");
    expect(await job.locator("td.images").textContent()).toBe("1 / 1");
    expect(await job.locator(".bar > div").evaluate((el) => (el as HTMLElement).style.width)).toBe("100%");
    await page.locator('#repositories tr[data-repository="imported/acme/slow"]').waitFor();
    expect(failures).toEqual([]);

    // Forgetting the token brings back the login form; a wrong token is refused there.
    await page.click("#logout");
    await page.locator("#login").waitFor();
    await page.fill("#token", "not-the-right-token-at-all");
    await page.click("#login-form button");
    await page.locator("#login-error", { hasText: "The token was refused." }).waitFor();
  } finally {
    await browser.close();
    slow.stop();
  }
});
