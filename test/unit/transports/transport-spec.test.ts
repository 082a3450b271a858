/** Transport strings: what each form means, and a clear error for each mistake. */
import { describe, expect, test } from "bun:test";
import { TransportError } from "../../../src/transports/errors.ts";
import { parseTransport } from "../../../src/transports/transport-spec.ts";

const digest = `sha256:${"c".repeat(64)}`;

describe("forms", () => {
  test.each<[string, Record<string, unknown>]>([
    ["oci:/media/bundle", { transport: "oci", path: "/media/bundle" }],
    ["oci:/media/bundle:docker.io/library/nginx:1.25", { transport: "oci", path: "/media/bundle", ref: "docker.io/library/nginx:1.25" }],
    ["oci:bundle:1.25", { transport: "oci", path: "bundle", ref: "1.25" }],
    ["oci-archive:/media/app.tar:acme/app:1", { transport: "oci-archive", path: "/media/app.tar", ref: "acme/app:1" }],
    ["docker-archive:/tmp/save.tar", { transport: "docker-archive", path: "/tmp/save.tar" }],
    ["docker-archive:/tmp/save.tar:nginx:1.25", { transport: "docker-archive", path: "/tmp/save.tar", name: "docker.io/library/nginx:1.25" }],
    ["docker-archive:/tmp/save.tar:@2", { transport: "docker-archive", path: "/tmp/save.tar", index: 2 }],
    ["registry-dir:/var/lib/registry", { transport: "registry-dir", path: "/var/lib/registry" }],
    ["registry-dir:/r:acme/app", { transport: "registry-dir", path: "/r", selection: { repository: "acme/app" } }],
    ["store:/var/lib/stevedore:library/nginx:1.25", { transport: "store", path: "/var/lib/stevedore", selection: { repository: "library/nginx", tag: "1.25" } }],
    [`store:/s:a/b@${digest}`, { transport: "store", path: "/s", selection: { repository: "a/b", digest } }],
    ["./bundle", { transport: "path", path: "./bundle" }],
    ["/media/bundle.tar", { transport: "path", path: "/media/bundle.tar" }],
    ["bundle.tar", { transport: "path", path: "bundle.tar" }],
    ["./odd:name", { transport: "path", path: "./odd:name" }],
  ])("%s", (text, expected) => {
    const { text: _, ...spec } = parseTransport(text) as Record<string, unknown>;
    expect(spec).toEqual(expected);
  });

  test.each<[string, Record<string, unknown>]>([
    ["docker://site.local:5000", { registry: "site.local:5000" }],
    // Without a dot, as docker and skopeo read it: an image with a tag. (Bare, it is a registry.)
    ["docker://site:5000", { registry: "docker.io", path: "library/site", tag: "5000" }],
    ["site:5000", { registry: "site:5000" }],
    ["docker://site:5000/", { registry: "site:5000" }],
    ["docker://site:5000/mirror/", { registry: "site:5000", path: "mirror" }],
    ["docker://site:5000/acme/app:1.0", { registry: "site:5000", path: "acme/app", tag: "1.0" }],
    ["docker://site:5000/acme/app", { registry: "site:5000", path: "acme/app" }],
    [`docker://site:5000/acme/app@${digest}`, { registry: "site:5000", path: "acme/app", digest }],
    ["docker://busybox", { registry: "docker.io", path: "library/busybox" }],
    ["localhost:5000", { registry: "localhost:5000" }],
    ["localhost", { registry: "localhost" }],
    ["site.example.com:443/mirror", { registry: "site.example.com:443", path: "mirror" }],
    ["127.0.0.1:5000/a/b/", { registry: "127.0.0.1:5000", path: "a/b" }],
    ["[::1]:5000", { registry: "[::1]:5000" }],
  ])("%s is a registry location", (text, expected) => {
    const spec = parseTransport(text);
    if (spec.transport !== "docker") throw new Error(`expected docker, got ${spec.transport}`);
    const { image: _, ...location } = spec.location;
    expect(location as Record<string, unknown>).toEqual(expected);
  });
});

describe("mistakes", () => {
  test.each<[string, RegExp]>([
    ["", /empty/],
    ["ftp:/x", /Unknown transport "ftp" in "ftp:\/x": use one of docker:\/\/, oci:, oci-archive:, docker-archive:, registry-dir:, store:, or HOST:PORT/],
    ["docker:site/app", /write docker:\/\/site\/app/],
    ["oci:", /oci: needs a path, as in oci:DIR\[:REF\]/],
    ["oci-archive::ref", /oci-archive: needs a path/],
    ["oci:/x:Not A Ref", /"Not A Ref" is not a tag or a name with a tag/],
    ["docker-archive:/x:@one", /"@one" is not @INDEX/],
    ["docker-archive:/x:UPPER", /"UPPER" is not an image name/],
    ["store:/s:Bad/Repo", /"Bad\/Repo" is not a repository path/],
    ["store:/s:repo:bad tag", /"bad tag" is not a valid tag/],
    ["store:/s:repo@sha256:short", /is not a digest/],
    ["docker://", /nothing after docker:\/\//],
    ["docker://site:5000/Acme/App:1", /Invalid location/],
    ["localhost:5000/acme/app:1.0", /a bare HOST:PORT names a registry; for one image write docker:\/\/localhost:5000\/acme\/app:1.0/],
  ])("%p", (text, message) => {
    let error: unknown;
    try {
      parseTransport(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TransportError);
    expect((error as Error).message).toMatch(message);
  });
});
