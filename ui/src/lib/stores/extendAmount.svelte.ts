// The user's usual extension: the amount they last extended a session by, for the row's
// one-click Extend. Kept in localStorage for the whole app (not per account).

/** What one click adds when nothing was remembered yet, in minutes. */
export const DEFAULT_EXTEND_MINUTES = 15;

const KEY = "porthole.extend.minutes";

function storage(): Storage | undefined {
  try {
    return globalThis.localStorage ?? undefined;
  } catch {
    return undefined;
  }
}

/** The amount one click adds, among the provider's `steps`: `wanted` (the remembered amount, else
 * the default) if it is one of them, else the closest step not above the default, else the first
 * step; `null` without steps. */
export function usualStep(steps: number[], wanted: number | null): number | null {
  if (steps.length === 0) return null;
  const target = wanted ?? DEFAULT_EXTEND_MINUTES;
  if (steps.includes(target)) return target;
  const below = steps.filter((s) => s <= DEFAULT_EXTEND_MINUTES);
  return below.length > 0 ? Math.max(...below) : steps[0]!;
}

/** The remembered amount (reactive), shared by every row. */
export class ExtendAmount {
  minutes: number | null = $state(null);
  #store: Storage | undefined;

  constructor(store = storage()) {
    this.#store = store;
    try {
      const value = Number(store?.getItem(KEY) ?? NaN);
      this.minutes = Number.isInteger(value) && value > 0 ? value : null;
    } catch {
      this.minutes = null;
    }
  }

  /** Remembers the amount the user just extended by. */
  remember(minutes: number): void {
    this.minutes = minutes;
    try {
      this.#store?.setItem(KEY, String(minutes));
    } catch {
      // A full or disabled storage only loses the preference.
    }
  }
}

/** The app's one preference. */
export const extendAmount = new ExtendAmount();
