/**
 * A read-write lock in one process, phase-fair: any number of shared
 * holders at once, or one exclusive holder alone, and the two take turns.
 * A shared request that comes while an exclusive one holds or waits waits
 * for the next shared turn: when an exclusive holder is done, every shared
 * request waiting then goes in together, before the next exclusive one. So
 * neither side is starved: a shared request waits for at most one
 * exclusive holder (and the shared turn before it), an exclusive one for
 * the exclusive ones that came before it, with one shared turn between each.
 */
export class ReadWriteGate {
  #readers = 0;
  #writing = false;
  #sharedWaiting: (() => void)[] = [];
  readonly #exclusiveWaiting: (() => void)[] = [];

  /** Run `fn` beside other shared holders, never while an exclusive holder runs. */
  shared<T>(fn: () => PromiseLike<T>): Promise<T> {
    if (!this.#writing && this.#exclusiveWaiting.length === 0) {
      this.#readers++;
      return this.#run(fn, false);
    }
    return new Promise<void>((grant) => this.#sharedWaiting.push(grant)).then(() => this.#run(fn, false));
  }

  /** Run `fn` alone. */
  exclusive<T>(fn: () => PromiseLike<T>): Promise<T> {
    if (!this.#writing && this.#readers === 0 && this.#exclusiveWaiting.length === 0) {
      this.#writing = true;
      return this.#run(fn, true);
    }
    return new Promise<void>((grant) => this.#exclusiveWaiting.push(grant)).then(() => this.#run(fn, true));
  }

  /** Whether an exclusive holder runs now. */
  get exclusiveHeld(): boolean {
    return this.#writing;
  }

  /** How many requests wait for their turn. */
  get waiting(): number {
    return this.#sharedWaiting.length + this.#exclusiveWaiting.length;
  }

  // The count is taken before `fn` runs (at once, or when #next grants a turn) and given back here.
  async #run<T>(fn: () => PromiseLike<T>, exclusive: boolean): Promise<T> {
    try {
      return await fn();
    } finally {
      if (exclusive) {
        this.#writing = false;
        this.#next(true);
      } else if (--this.#readers === 0) {
        this.#next(false);
      }
    }
  }

  /** Hand the gate on: after an exclusive turn to every shared request waiting, else to the next exclusive one. */
  #next(afterExclusive: boolean): void {
    if (afterExclusive && this.#sharedWaiting.length > 0) {
      const turn = this.#sharedWaiting;
      this.#sharedWaiting = [];
      this.#readers += turn.length;
      for (const grant of turn) grant();
      return;
    }
    const grant = this.#exclusiveWaiting.shift();
    if (grant) {
      this.#writing = true;
      grant();
      return;
    }
    // No exclusive request waits (shared ones may have queued behind one that has gone): let them in.
    if (this.#sharedWaiting.length > 0) this.#next(true);
  }
}
