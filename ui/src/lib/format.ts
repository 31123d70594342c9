// Small pure formatters for sessions: countdowns, money, memory, durations. `now` is always
// passed in (the shared clock), so they are easy to test.
import type { KeyState } from "./backend";

/** Whole seconds from `now` (ms) to `deadline` (ISO), rounded up; `null` when there is none. */
export function remainingSeconds(deadline: string | null, now: number): number | null {
  if (deadline === null) return null;
  const at = Date.parse(deadline);
  if (Number.isNaN(at)) return null;
  return Math.ceil((at - now) / 1000);
}

const pad = (n: number) => String(n).padStart(2, "0");

/** "42:10 left", "1h 05m left", "expired", or "No deadline". */
export function formatRemaining(seconds: number | null): string {
  if (seconds === null) return "No deadline";
  if (seconds <= 0) return "expired";
  if (seconds < 3600) return `${Math.floor(seconds / 60)}:${pad(seconds % 60)} left`;
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${pad(minutes % 60)}m left`;
}

/** The countdown to `deadline` as `formatRemaining` words it. */
export function countdown(deadline: string | null, now: number): string {
  return formatRemaining(remainingSeconds(deadline, now));
}

/** What a session has cost from `createdAt` until `until` (ms); `null` when it is not priced. */
export function costSoFar(
  createdAt: string,
  pricePerHour: number | null,
  deadline: string | null,
  until: number,
): number | null {
  if (pricePerHour === null) return null;
  const started = Date.parse(createdAt);
  if (Number.isNaN(started)) return null;
  // Nothing is billed past the deadline (as `Session::cost_so_far` in Rust counts it).
  const end = deadline === null ? NaN : Date.parse(deadline);
  const stop = Number.isNaN(end) ? until : Math.min(until, end);
  return (pricePerHour * Math.max(0, stop - started)) / 3_600_000;
}

/** "$1.23", "< $0.01", "$0.00", or "—" when unknown. */
export function formatCost(usd: number | null): string {
  if (usd === null) return "—";
  if (usd > 0 && usd < 0.005) return "< $0.01";
  return `$${usd.toFixed(2)}`;
}

/** "$3.50/h", "Free", or "—" when the provider gives no price. */
export function formatPricePerHour(usd: number | null): string {
  if (usd === null) return "—";
  if (usd === 0) return "Free";
  return `$${usd.toFixed(2)}/h`;
}

/** "80 GB", "1.5 GB", "512 MB"; empty when unknown. */
export function formatMemory(mib: number | null): string {
  if (mib === null) return "";
  if (mib < 1024) return `${mib} MB`;
  const gib = mib / 1024;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GB`;
}

/** "5 min", "1 h", "1 h 30 min". */
export function formatMinutes(minutes: number): string {
  if (minutes < 60) return `${minutes} min`;
  const rest = minutes % 60;
  return rest === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

/** How long something has lasted: "40 s" under a minute, then as `formatMinutes` ("5 min",
 * "1 h 30 min"), in whole units. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  return whole < 60 ? `${whole} s` : formatMinutes(Math.floor(whole / 60));
}

// `Intl.DateTimeFormat` instances, one per set of options: building one is most of what
// `toLocaleTimeString(locales, options)` costs, and every visible row formats its deadline on each
// tick of the clock. The default locale is read once, at the first use of each set of options.
const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** A cached `Intl.DateTimeFormat` for the default locale and these options. */
export function dateTimeFormat(options: Intl.DateTimeFormatOptions = {}): Intl.DateTimeFormat {
  const key = JSON.stringify(options);
  let format = dateTimeFormats.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, options);
    dateTimeFormats.set(key, format);
  }
  return format;
}

const CLOCK = { hour: "2-digit", minute: "2-digit" } as const;
const CLOCK_SECONDS = { ...CLOCK, second: "2-digit" } as const;
/** `toLocaleDateString()`'s own defaults. */
const DATE = { year: "numeric", month: "numeric", day: "numeric" } as const;

/** A local date and time for tooltips ("14:05" today, or with its date); with `seconds`,
 * "14:05:09". */
export function formatClock(iso: string, now: number, seconds = false): string {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  const time = dateTimeFormat(seconds ? CLOCK_SECONDS : CLOCK).format(at);
  const today = new Date(now);
  return at.getFullYear() === today.getFullYear() &&
    at.getMonth() === today.getMonth() &&
    at.getDate() === today.getDate()
    ? time
    : `${dateTimeFormat(DATE).format(at)} ${time}`;
}

/** What the key badge says for each state of a key. */
export function keyStateLabel(key: KeyState): string {
  switch (key.state) {
    case "set":
      return "Key set";
    case "missing":
      return "Key missing — set it again";
    case "keychain_unavailable":
      return `Keychain unavailable: ${key.message}`;
    case "builtin":
      return "Built in";
  }
}
