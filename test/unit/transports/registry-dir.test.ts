/** registry-dir: a distribution registry's storage, read in place. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodedOf } from "../../../src/digest/index.ts";
import { OciError } from "../../../src/oci/index.ts";
import { TransportError } from "../../../src/transports/errors.ts";
import { RegistryDirHome } from "../../../src/transports/registry-dir/registry-dir-home.ts";
import { runReadContract } from "../../helpers/home-contract.ts";
import { generateImage } from "../../helpers/images.ts";
import { writeRegistryDir } from "../../helpers/registry-dir.ts";
import { parseReference } from "../../../src/reference/index.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-registry-dir-"));
});
afterAll(() => rm(root, { recursive: true, force: true }));
let counter = 0;

/** A registry keeps paths: docker.io/acme/app lives at acme/app. */
const pathOf = (name: string) => parseReference(name).path;

runReadContract("registry-dir:", async (images) => {
  const dir = join(root, `r${counter++}`);
  await writeRegistryDir(
    dir,
    images.map((image) => {
      const ref = parseReference(image.name!);
      return { repository: ref.path, tag: ref.tag!, image };
    }),
  );
  return { home: await RegistryDirHome.open(dir), repository: pathOf };
});

test("the v2 directory itself works as the root", async () => {
  const dir = join(root, `r${counter++}`);
  const image = await generateImage({ seed: "rd/v2" });
  await writeRegistryDir(dir, [{ repository: "a/b", tag: "1", image }]);
  const home = await RegistryDirHome.open(join(dir, "docker", "registry", "v2"));
  expect(await home.tags("a/b")).toEqual(["1"]);
});

test("not a registry's storage, or missing", async () => {
  const dir = join(root, `r${counter++}`);
  await mkdir(dir);
  await expect(RegistryDirHome.open(dir)).rejects.toThrow(/not the storage of a distribution registry/);
  await expect(RegistryDirHome.open(join(root, "nope"))).rejects.toBeInstanceOf(TransportError);
});

test("names that could leave the tree are refused before touching a path", async () => {
  const dir = join(root, `r${counter++}`);
  await writeRegistryDir(dir, [{ repository: "a/b", tag: "1", image: await generateImage({ seed: "rd/names" }) }]);
  const home = await RegistryDirHome.open(dir);
  for (const name of ["../../etc", "a/../b", "/abs", "A/b"]) {
    const error = await home.tags(name).catch((e) => e);
    expect(error).toBeInstanceOf(OciError);
    expect(error.code).toBe("NAME_INVALID");
  }
  const error = await home.manifest("a/b", "../../x").catch((e) => e);
  expect(error.code).toBe("MANIFEST_UNKNOWN");
});

test("a tag linked to missing or corrupt data", async () => {
  const dir = join(root, `r${counter++}`);
  const image = await generateImage({ seed: "rd/corrupt" });
  await writeRegistryDir(dir, [{ repository: "a/b", tag: "1", image }]);
  const hex = encodedOf(image.descriptor.digest);
  const data = join(dir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
  await writeFile(data, '{"schemaVersion":2}');
  const home = await RegistryDirHome.open(dir);
  expect((await home.manifest("a/b", "1").catch((e) => e)).message).toMatch(/is corrupt/);
  await rm(data);
  expect((await home.manifest("a/b", "1").catch((e) => e)).message).toMatch(/data is missing/);
});
