/** Image lists: text and YAML, normalised, pinned, with errors that name the file and line. */
import { describe, expect, test } from "bun:test";
import { dedupeImages, ImageListError, imagesFromArguments, parseImageList, refNameOf } from "../../../src/bundle/index.ts";
import { digestOf } from "../../../src/digest/index.ts";

const digest = digestOf("pinned");
const summary = (list: ReturnType<typeof parseImageList>) =>
  list.map((i) => ({ name: i.name.toString(), origin: i.origin, ...(i.platforms ? { platforms: i.platforms } : {}) }));
const failure = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ImageListError);
    return (error as Error).message;
  }
  throw new Error("expected an ImageListError");
};

describe("text lists", () => {
  test("one reference per line, comments and blank lines skipped, each normalised", () => {
    const text = "# release 7.1\nnginx:1.25\n\n  quay.io/prometheus/node-exporter:v1.8.0   # exporter\nbusybox\r\nacme/app@" + digest + "\n";
    expect(summary(parseImageList(text, "images.txt"))).toEqual([
      { name: "docker.io/library/nginx:1.25", origin: "images.txt:2" },
      { name: "quay.io/prometheus/node-exporter:v1.8.0", origin: "images.txt:4" },
      { name: "docker.io/library/busybox:latest", origin: "images.txt:5" },
      { name: `docker.io/acme/app@${digest}`, origin: "images.txt:6" },
    ]);
  });

  test("a malformed line names the file and line", () => {
    expect(failure(() => parseImageList("nginx:1.25\nNginx:1.25\n", "images.txt"))).toBe(
      'images.txt:2: repository name must be lowercase: "Nginx:1.25": the path "library/Nginx" has uppercase letters',
    );
    expect(failure(() => parseImageList("\n\nnginx:1.25 redis:7\n", "list"))).toBe('list:3: expected one image reference, got "nginx:1.25 redis:7"');
    expect(failure(() => parseImageList("images:\n  - nginx\n", "images.txt"))).toBe("images.txt:1: this looks like YAML; name the file *.yaml");
  });
});

describe("YAML lists", () => {
  test("strings, and objects pinning a digest and platforms", () => {
    const text = `images:
  - nginx:1.25
  - image: acme/app:7.1
    digest: ${digest}
    platforms: [linux/amd64, linux/arm64]
  - image: acme/tool:2
    platform: linux/arm/v7
`;
    expect(summary(parseImageList(text, "images.yaml"))).toEqual([
      { name: "docker.io/library/nginx:1.25", origin: "images.yaml:2" },
      {
        name: `docker.io/acme/app:7.1@${digest}`,
        origin: "images.yaml:3",
        platforms: [
          { os: "linux", architecture: "amd64" },
          { os: "linux", architecture: "arm64" },
        ],
      },
      { name: "docker.io/acme/tool:2", origin: "images.yaml:6", platforms: [{ os: "linux", architecture: "arm", variant: "v7" }] },
    ]);
    expect(refNameOf(parseImageList(text, "images.yaml")[1]!.name)).toBe("docker.io/acme/app:7.1");
  });

  test("errors name the line of the entry or field at fault", () => {
    expect(failure(() => parseImageList("images:\n  - nginx\n  - image: acme/app:1\n    digest: sha256:nope\n", "i.yaml"))).toBe(
      'i.yaml:4: invalid digest "sha256:nope"',
    );
    expect(failure(() => parseImageList("images:\n  - nginx\n  - image: acme/app:1\n    tag: x\n", "i.yml"))).toMatch(/^i\.yml:3: images\.1: /);
    expect(failure(() => parseImageList("images:\n  - nginx\n  - image: acme/app:1\n    platforms: [linux]\n", "i.yaml"))).toBe(
      'i.yaml:3: Invalid platform "linux": expected os/arch[/variant], e.g. linux/amd64',
    );
    expect(failure(() => parseImageList("images:\n  - UPPER:1\n", "i.yaml"))).toMatch(/^i\.yaml:2: repository name must be lowercase/);
    expect(failure(() => parseImageList("imgs:\n  - nginx\n", "i.yaml"))).toMatch(/^i\.yaml:1: .*expected `images:`/);
    expect(failure(() => parseImageList("images: [nginx\n", "i.yaml"))).toMatch(/^i\.yaml:\d+: invalid YAML/);
    expect(failure(() => parseImageList(`images:\n  - image: acme/app@${digest}\n    digest: ${digestOf("other")}\n`, "i.yaml"))).toMatch(
      /^i\.yaml:3: "acme\/app@sha256:[0-9a-f]+" already pins/,
    );
  });
});

test("arguments, and duplicates: repeats dropped, conflicts refused naming both places", () => {
  const args = imagesFromArguments(["nginx:1.25", "docker.io/library/nginx:1.25", `acme/app:1@${digest}`]);
  expect(dedupeImages(args).map((i) => i.name.toString())).toEqual(["docker.io/library/nginx:1.25", `docker.io/acme/app:1@${digest}`]);
  const conflict = [...args, ...parseImageList("acme/app:1\n", "images.txt")];
  expect(failure(() => dedupeImages(conflict))).toBe(
    "images.txt:1: docker.io/acme/app:1 is also named at argument 3, with a different digest or platforms",
  );
  expect(failure(() => imagesFromArguments(["ok", "Bad"]))).toBe('argument 2: repository name must be lowercase: "Bad": the path "library/Bad" has uppercase letters');
});
