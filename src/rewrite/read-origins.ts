/**
 * Read origins from what a site was filled with: an image list or a
 * bundle (an OCI layout directory or a tar of one), read as transports'
 * readImageList reads them. Only full references (with a repository, not a
 * bare tag) say where an image came from.
 */
import { type ImageListing, parseImageList as parseListedImages, readImageList, TransportError } from "../transports/index.ts";
import { RewriteError } from "./errors.ts";
import { Origins } from "./origins.ts";

/** Parse an image list (text, or YAML when `description` ends in .yaml): each reference is one origin. */
export function parseImageList(text: string, description: string): Origins {
  let images;
  try {
    images = parseListedImages(text, description);
  } catch (error) {
    if (error instanceof TransportError) throw new RewriteError(error.message);
    throw error;
  }
  return originsOf({ bundle: false, images, unnamed: [] }, description);
}

/** Read origins from an image list file, a layout directory, or a bundle tar. */
export async function readOrigins(path: string): Promise<Origins> {
  let listing: ImageListing;
  try {
    listing = await readImageList(path);
  } catch (error) {
    if (error instanceof TransportError) throw new RewriteError(error.message);
    throw error;
  }
  return originsOf(listing, path);
}

function originsOf(listing: ImageListing, description: string): Origins {
  const origins = new Origins(description);
  // The names as written: reversing gives them back in that form.
  for (const image of listing.images) origins.add(image.written, image.origin);
  if (listing.bundle && origins.size === 0) {
    throw new RewriteError(`${description}: index.json names no image by its full reference, so it cannot tell where images came from`);
  }
  return origins;
}
