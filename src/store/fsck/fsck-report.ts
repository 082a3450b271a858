/** What fsck found, each problem with what to do about it. */

export type FsckProblemKind =
  /** A recorded blob whose bytes are gone. */
  | "blob-missing"
  /** A recorded blob whose bytes do not hash to its digest, or have another size. */
  | "blob-corrupt"
  /** Bytes no row records (debris of a crash, or a row lost). */
  | "blob-unrecorded"
  /** Stored manifest bytes that do not hash to their digest or do not parse. */
  | "manifest-corrupt"
  /** A manifest whose blobs or child manifests are not in its repository. */
  | "manifest-incomplete"
  /** A manifest whose recorded references lack some its bytes name (gc would not protect them). */
  | "references-missing"
  /** A blob a manifest references, recorded, but not linked into the manifest's repository. */
  | "link-missing"
  /** A tag whose manifest is not in its repository. */
  | "tag-dangling"
  /** An upload session idle past its time to live, or staged bytes no session owns. */
  | "upload-abandoned";

export interface FsckProblem {
  kind: FsckProblemKind;
  /** What it is about: a digest, `repository@digest`, `repository:tag`, an upload id. */
  subject: string;
  message: string;
  /** What to do about it (or what --repair did). */
  action: string;
  /** True when --repair fixed it. */
  repaired: boolean;
}

export interface FsckReport {
  checked: {
    /** Recorded blobs re-hashed, and their bytes. */
    blobs: number;
    bytes: number;
    manifests: number;
    tags: number;
    uploads: number;
    /** Files in the blob driver looked at for a row. */
    files: number;
  };
  problems: FsckProblem[];
  /** Problems --repair fixed. */
  repaired: number;
  interrupted: boolean;
  durationMs: number;
}
