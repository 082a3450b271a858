/**
 * One progress line on a terminal for the long store commands (gc, fsck,
 * migrate), redrawn at most every 100 ms; nothing when stderr is not a
 * terminal. `clear` wipes it before the report is printed.
 */
import type { CommandContext } from "./command.ts";

export interface ProgressLine<E> {
  update(event: E): void;
  clear(): void;
}

/** `text` says an event; `urgent` events (a phase's total) are drawn at once. */
export function progressLine<E>(ctx: CommandContext, text: (event: E) => string, urgent: (event: E) => boolean = () => false): ProgressLine<E> {
  if (!ctx.interactive) return { update: () => undefined, clear: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(event) {
      const now = performance.now();
      if (now - last < 100 && !urgent(event)) return;
      last = now;
      shown = true;
      ctx.stderr.write(`\r\x1b[K${text(event)}`);
    },
    clear() {
      if (shown) ctx.stderr.write("\r\x1b[K");
    },
  };
}
