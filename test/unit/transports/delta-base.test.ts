/** Delta layouts: the base recorded on index.json, and the message for a blob left to it. */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Digest, digestOf } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { deltaAnnotations, deltaBaseOf, OciLayoutHome } from "../../../src/transports/index.ts";
import { generateImage, writeOciLayout } from "../../helpers/images.ts";

const dir = mkdtempSync(join(tmpdir(), "delta-base-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const a = digestOf("a");
const b = digestOf("b");

test("annotations round-trip; a layout without them is complete", () => {
  const base = { index: digestOf("index"), name: "app-7.0.tar", blobs: new Set<Digest>([b, a]) };
  const annotations = deltaAnnotations(base);
  expect(annotations["io.stevedore.bundle.base.blobs"]).toBe([a, b].sort().join(","));
  expect(deltaBaseOf(annotations)).toEqual(base);
  expect(deltaBaseOf(undefined)).toBeUndefined();
  expect(deltaBaseOf({ "io.stevedore.bundle.base.index": "not a digest" })).toBeUndefined();
});

test("a blob left to the base is missing with a message naming the base; another missing blob is just missing", async () => {
  const image = await generateImage({ name: "docker.io/acme/app:1", seed: "delta" });
  const layout = join(dir, "delta");
  await writeOciLayout(layout, [image]);
  const layer = image.blobs[1]!.descriptor.digest;
  rmSync(join(layout, "blobs", "sha256", layer.slice("sha256:".length)));
  const index = JSON.parse(await Bun.file(join(layout, "index.json")).text());
  index.annotations = deltaAnnotations({ index: digestOf("base index"), name: "app-7.0.tar", blobs: new Set([layer]) });
  writeFileSync(join(layout, "index.json"), JSON.stringify(index));
  const home = await OciLayoutHome.open(layout);
  const missing = await home.blob("docker.io/acme/app", layer).catch((e) => e);
  expect(OciError.is(missing, "BLOB_UNKNOWN")).toBe(true);
  expect(missing.message).toBe(
    `blob ${layer} is not in oci:${layout}: this delta bundle leaves it to the base bundle "app-7.0.tar" (index.json ${digestOf("base index")}); sync that bundle into the destination first`,
  );
  const other = await home.blob("docker.io/acme/app", digestOf("nothing")).catch((e) => e);
  expect(other.message).toBe(`blob ${digestOf("nothing")} is not in oci:${layout}`);
});
