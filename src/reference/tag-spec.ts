/**
 * A forgiving splitter for `[host[:port]/]name[:tag][@digest]`, in the style
 * of the original installer's TagSpec: it never throws, so callers can take
 * apart whatever text they were given and ask `isValid()` afterwards.
 */
import { parseNormalizedReference } from "./reference.ts";

export class TagSpec {
  constructor(
    readonly host: string,
    readonly port: string,
    readonly name: string,
    readonly tag: string,
    readonly digest: string,
  ) {}

  /** Split without validating. */
  static split(input: string): TagSpec {
    let rest = input.trim();
    let digest = "";
    const at = rest.lastIndexOf("@");
    if (at >= 0) {
      digest = rest.slice(at + 1);
      rest = rest.slice(0, at);
    }
    let tag = "";
    const colon = rest.lastIndexOf(":");
    if (colon > rest.lastIndexOf("/")) {
      tag = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
    let host = "";
    let port = "";
    const slash = rest.indexOf("/");
    const first = slash >= 0 ? rest.slice(0, slash) : "";
    if (slash >= 0 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first)) {
      rest = rest.slice(slash + 1);
      const portColon = first.startsWith("[") ? first.indexOf(":", first.indexOf("]")) : first.lastIndexOf(":");
      if (portColon >= 0) {
        host = first.slice(0, portColon);
        port = first.slice(portColon + 1);
      } else {
        host = first;
      }
    }
    return new TagSpec(host, port, rest, tag, digest);
  }

  /** `host:port` or `host`, or empty. */
  get registry(): string {
    return this.port ? `${this.host}:${this.port}` : this.host;
  }

  toString(): string {
    const registry = this.registry;
    return (registry ? `${registry}/` : "") + this.name + (this.tag ? `:${this.tag}` : "") + (this.digest ? `@${this.digest}` : "");
  }

  /** True when the pieces make a valid reference. */
  isValid(): boolean {
    if (!this.name) return false;
    try {
      parseNormalizedReference(this.toString());
      return true;
    } catch {
      return false;
    }
  }
}
