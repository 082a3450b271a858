/** Media types of the OCI image spec and the Docker schema2 formats. */
export const MediaType = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  ociLayout: "application/vnd.oci.layout.header.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerPluginConfig: "application/vnd.docker.plugin.v1+json",
  dockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  dockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/** The OCI empty descriptor: the two bytes `{}`. */
export const EMPTY_JSON = {
  mediaType: MediaType.ociEmpty,
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
  size: 2,
  data: "e30=",
} as const;

export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const SCHEMA1_TYPES: readonly string[] = [MediaType.dockerSchema1, MediaType.dockerSchema1Signed];
export const MANIFEST_TYPES: readonly string[] = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES];

export const isIndexType = (mediaType: string | undefined) => !!mediaType && INDEX_TYPES.includes(mediaType);
export const isImageManifestType = (mediaType: string | undefined) =>
  !!mediaType && IMAGE_MANIFEST_TYPES.includes(mediaType);
export const isManifestType = (mediaType: string | undefined) => !!mediaType && MANIFEST_TYPES.includes(mediaType);
export const isSchema1Type = (mediaType: string | undefined) => !!mediaType && SCHEMA1_TYPES.includes(mediaType);

/** The value for an `Accept` header that asks for every manifest format we handle. */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(", ");

/** Layers that carry a `urls` list and need not be present (Windows base layers). */
export const FOREIGN_LAYER_TYPES: readonly string[] = [
  MediaType.dockerForeignLayer,
  MediaType.ociLayerNondistributable,
  MediaType.ociLayerNondistributableGzip,
  MediaType.ociLayerNondistributableZstd,
];
