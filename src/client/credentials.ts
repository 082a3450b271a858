/** What the client authenticates with. */

export type Credentials =
  | { username: string; password: string; identityToken?: undefined }
  /** An OAuth2 refresh token (docker's `identitytoken`), exchanged at the token realm. */
  | { identityToken: string; username?: string; password?: undefined };

export class CredentialsError extends Error {
  override readonly name = "CredentialsError";
}

/** Parse `USER:PASS` (the password may contain colons; the user may not). */
export function parseCredentials(text: string): Credentials {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new CredentialsError("Invalid credentials: expected USER:PASSWORD");
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, "utf8").toString("base64")}`;
}
