/**
 * Endpoints: a home plus what a transport string says about it. A source
 * names images (one, a repository's tags, a whole layout); a destination
 * says where each source image lands. The copy engine only sees these.
 */
import type { ImageHome, ImageReader, Platform } from "../oci/index.ts";
import type { Reference } from "../reference/index.ts";

/** One image a source offers. */
export interface SourceImage {
  /** Repository in the source home. */
  repository: string;
  /** Tag or digest in the source home. */
  reference: string;
  /**
   * The image's full original reference (normalised, with its domain), e.g.
   * `docker.io/library/nginx:1.25`; destinations derive their names from it.
   */
  name: Reference;
  /**
   * Copy only these platforms of a multi-arch image, in place of the run's
   * own choice (an image list that pins platforms per image).
   */
  platforms?: Platform[];
}

export interface SourceEndpoint {
  home: ImageReader;
  /**
   * The location as the source string names it, for messages: more than
   * the home's own description when it selects part of the home
   * (`docker://site:5000/acme/app`, `store:DIR:acme/app`).
   */
  description?: string;
  /** The images the source string names. */
  list(): Promise<SourceImage[]>;
}

export interface Target {
  repository: string;
  /** Absent: the image is stored by digest only. */
  tag?: string;
}

export interface DestinationEndpoint {
  home: ImageHome;
  /** Where a source image lands in `home`. */
  target(image: SourceImage): Target;
}
