/**
 * A second process writing into the same OCI layout, for the concurrency
 * test: `bun layout-writer-process.ts DIR PREFIX COUNT`.
 */
import { OciLayoutHome } from "../../../src/transports/layout/oci-layout-home.ts";
import { generateImage } from "../../helpers/images.ts";

const [dir, prefix, count] = process.argv.slice(2);
const home = await OciLayoutHome.open(dir!, { create: true });
const image = await generateImage({ name: `${prefix}:x`, seed: prefix, layers: 1, layerSize: 256 });
for (const b of image.blobs) await home.putBlob(prefix!, b.descriptor, new Blob([b.bytes]));
await Promise.all(
  Array.from({ length: Number(count) }, (_, i) =>
    home.putManifest(`docker.io/${prefix}`, `t${i}`, { bytes: image.bytes, mediaType: image.descriptor.mediaType }),
  ),
);
