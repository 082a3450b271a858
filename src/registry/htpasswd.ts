/**
 * htpasswd files with bcrypt entries, as `htpasswd -B` writes them.
 * Other hash schemes (MD5 apr1, SHA1, crypt) are weak and refused by name,
 * so an operator learns at start-up, not at the first failed login.
 */
export class HtpasswdError extends Error {
  override readonly name = "HtpasswdError";
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** user → bcrypt hash. Throws HtpasswdError naming the line that is not usable. */
export function parseHtpasswd(text: string, source = "htpasswd"): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HtpasswdError(`${source}:${i + 1}: expected user:hash`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      throw new HtpasswdError(`${source}:${i + 1}: user ${JSON.stringify(user)} has no bcrypt hash; create entries with "htpasswd -B"`);
    }
    users.set(user, hash);
  });
  return users;
}
