/**
 * gc's deletes are many short write transactions. A writer in another
 * process (serve beside `stevedore gc`, on SQLite) waits for the write
 * lock by polling, and a loop that takes the lock back at once can win
 * every poll until that writer's busy timeout fails its request. So gc
 * rests after each write for as long as the write took: it holds the
 * lock at most about half the time, and pushes keep flowing.
 */
export type Paced = <T>(write: () => Promise<T>) => Promise<T>;

export const paced: Paced = async (write) => {
  const started = performance.now();
  try {
    return await write();
  } finally {
    await Bun.sleep(Math.max(performance.now() - started, 1));
  }
};

export const unpaced: Paced = (write) => write();
