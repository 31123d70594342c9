/**
 * The one clock every countdown reads: `now` moves each second while something uses it.
 * Components call `clock.use()` in `onMount` and return what it gives (the release).
 */
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | undefined;
  #users = 0;
  #intervalMs: number;

  constructor(intervalMs = 1000) {
    this.#intervalMs = intervalMs;
  }

  /** Starts the tick for one more user; returns the release. */
  use(): () => void {
    this.#users += 1;
    if (this.#users === 1) {
      this.now = Date.now();
      this.#timer = setInterval(() => (this.now = Date.now()), this.#intervalMs);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users -= 1;
      if (this.#users === 0) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }
}

/** The app's shared clock. */
export const clock = new Clock();
