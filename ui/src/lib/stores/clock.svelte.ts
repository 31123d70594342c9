/** What the clock needs of the page: whether it is hidden, and word when that changes. */
export type Visibility = Pick<Document, "hidden" | "addEventListener" | "removeEventListener">;

/**
 * The one clock every countdown reads: `now` moves each second while something uses it and the
 * page is shown. While the window is hidden (in the tray) or minimised it stops, so an idle app
 * spends nothing on countdowns nobody sees; when the page shows again `now` catches up at once.
 * Components call `clock.use()` in `onMount` and return what it gives (the release).
 */
export class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | undefined;
  #users = 0;
  #intervalMs: number;
  #page: Visibility | null;

  constructor(intervalMs = 1000, page: Visibility | null = globalThis.document ?? null) {
    this.#intervalMs = intervalMs;
    this.#page = page;
  }

  /** Starts the tick for one more user; returns the release. */
  use(): () => void {
    this.#users += 1;
    if (this.#users === 1) {
      this.#page?.addEventListener("visibilitychange", this.#visibility);
      this.#visibility();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#users -= 1;
      if (this.#users === 0) {
        this.#page?.removeEventListener("visibilitychange", this.#visibility);
        this.#stop();
      }
    };
  }

  /** Whether the clock is ticking now. */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  #visibility = () => {
    if (this.#page?.hidden) {
      this.#stop();
    } else if (this.#timer === undefined) {
      this.now = Date.now();
      this.#timer = setInterval(() => (this.now = Date.now()), this.#intervalMs);
    }
  };

  #stop() {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The app's shared clock. */
export const clock = new Clock();
