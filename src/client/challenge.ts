/**
 * `WWW-Authenticate` challenges (RFC 7235): `Bearer realm="…",service="…",
 * scope="…"` or `Basic realm="…"`. A header may carry several challenges.
 */

export interface Challenge {
  /** Lowercase scheme: `bearer`, `basic`. */
  scheme: string;
  /** Lowercase parameter names. */
  params: Record<string, string>;
}

/** Parse every challenge of a header value; unparseable text is skipped. */
export function parseChallenges(header: string | null | undefined): Challenge[] {
  if (!header) return [];
  const challenges: Challenge[] = [];
  let i = 0;
  const text = header;
  const skipSpace = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  };
  const token = () => {
    const start = i;
    while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  while (i < text.length) {
    skipSpace();
    while (text[i] === ",") {
      i++;
      skipSpace();
    }
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skipSpace();
    // auth-params: name=value pairs separated by commas, until the next scheme.
    for (;;) {
      skipSpace();
      const mark = i;
      const name = token();
      skipSpace();
      if (!name || text[i] !== "=") {
        i = mark;
        break;
      }
      i++;
      skipSpace();
      let value = "";
      if (text[i] === '"') {
        i++;
        while (i < text.length && text[i] !== '"') {
          if (text[i] === "\\" && i + 1 < text.length) i++;
          value += text[i];
          i++;
        }
        i++;
      } else {
        // Strictly a token, but servers write unquoted URLs too: take up to the next comma or space.
        const start = i;
        while (i < text.length && text[i] !== "," && text[i] !== " " && text[i] !== "\t") i++;
        value = text.slice(start, i);
      }
      challenge.params[name.toLowerCase()] = value;
      skipSpace();
      if (text[i] === ",") i++;
      else break;
    }
  }
  return challenges;
}

/** The challenge we can answer, Bearer preferred over Basic. */
export function pickChallenge(challenges: Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic");
}
