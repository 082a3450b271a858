/**
 * One flight per key for the whole run: the first caller starts the work,
 * later callers share its promise, including after it settled. Two images
 * that share a layer therefore upload it once, and a blob that failed its
 * digest check fails every image that needs it without being read again.
 */
export class SingleFlight<T> {
  readonly #flights = new Map<string, Promise<T>>();

  run(key: string, work: () => Promise<T>): Promise<T> {
    let flight = this.#flights.get(key);
    if (!flight) {
      flight = work();
      // Callers may all be gone (their image stopped); the outcome is still held here.
      flight.catch(() => {});
      this.#flights.set(key, flight);
    }
    return flight;
  }

  get size(): number {
    return this.#flights.size;
  }
}
