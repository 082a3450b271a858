/**
 * Errors from the operating system in words a user reads: `no such file`
 * rather than `ENOENT`. Messages name the file and the action themselves
 * (`Cannot read htpasswd file "/etc/x": no such file`); this gives the
 * reason. It lives here, low, because every layer builds such messages.
 */

const WORDS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EEXIST: "it already exists",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENOTEMPTY: "the directory is not empty",
  EROFS: "the file system is read-only",
  EMFILE: "too many open files",
  ENFILE: "too many open files on this system",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EIO: "input/output error",
  EBUSY: "the resource is busy",
  EXDEV: "it is on another file system",
  ETXTBSY: "the file is busy",
  EADDRINUSE: "the address is in use (another server listens there)",
  EADDRNOTAVAIL: "the address is not one of this machine's",
};

/** The code (`ENOENT`, ...) of an error from the operating system, if it is one. */
export function systemErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/**
 * The reason for a failure, in words: `no such file` for ENOENT and the
 * other common codes; otherwise the error's own message without the code
 * and call Node puts in front and behind (`ENOENT: ..., open '/x'`).
 */
export function systemErrorReason(error: unknown): string {
  const code = systemErrorCode(error);
  if (code && WORDS[code]) return WORDS[code];
  const message = error instanceof Error ? error.message : String(error);
  return code ? message.replace(new RegExp(`^${code}: `), "").replace(/, \w+ '[^']*'(?: -> '[^']*')?$/, "") : message;
}

const ACTIONS: Record<string, string> = {
  open: "open",
  read: "read",
  write: "write",
  close: "close",
  fsync: "flush",
  mkdir: "create the directory",
  mkdtemp: "create a directory in",
  rmdir: "remove",
  rm: "remove",
  unlink: "remove",
  rename: "rename",
  copyfile: "copy",
  link: "link",
  symlink: "link",
  stat: "find",
  lstat: "find",
  access: "find",
  scandir: "list",
  opendir: "list",
  chmod: "change the mode of",
  chown: "change the owner of",
  utime: "set the times of",
};

/**
 * One line for an error from the operating system: the action, the file
 * quoted, the reason in words (`Cannot open "/x": no such file`). Other
 * errors: their message.
 */
export function describeSystemError(error: unknown): string {
  if (!systemErrorCode(error)) return error instanceof Error ? error.message : String(error);
  const { syscall, path } = error as { syscall?: string; path?: string };
  const action = (syscall && ACTIONS[syscall]) ?? syscall;
  const reason = systemErrorReason(error);
  if (action && path) return `Cannot ${action} ${JSON.stringify(path)}: ${reason}`;
  if (action) return `Cannot ${action}: ${reason}`;
  return `${reason.charAt(0).toUpperCase()}${reason.slice(1)}`;
}
