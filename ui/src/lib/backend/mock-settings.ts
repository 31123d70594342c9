// The mock's alert settings: an in-memory stand-in for `settings.json`, refusing what the Rust side
// refuses (the `save_settings` command's argument types, then porthole-core `SettingsStore::save`),
// with the same messages.
import {
  type AlertSettings,
  BackendError,
  defaultAlertSettings,
  MAX_WARN_MINUTES,
} from "./types";

/** What `save_settings` answers to a threshold outside 1 minute to 24 hours. */
export const MOCK_THRESHOLD_MESSAGE = "Warning thresholds are between 1 minute and 24 hours.";

/** What `save_settings` answers to an extension of 0 minutes or a negative spending cap. */
export const MOCK_AUTO_EXTEND_MESSAGE =
  "Auto-extend needs a positive number of minutes and a spending cap of 0 or more.";

const U32_MAX = 4_294_967_295;

/** Why serde would refuse `value` as a `u32`, or null when it is one. */
function notU32(value: unknown): string | null {
  if (typeof value !== "number" || Number.isNaN(value)) {
    return `invalid type: ${String(value)}, expected u32`;
  }
  if (!Number.isInteger(value)) return `invalid type: floating point \`${value}\`, expected u32`;
  if (value < 0 || value > U32_MAX) return `invalid value: integer \`${value}\`, expected u32`;
  return null;
}

/** Tauri's answer when the arguments do not deserialize: a plain string, hence `internal`. */
function badArgs(reason: string): BackendError {
  return new BackendError(
    "internal",
    `invalid args \`settings\` for command \`save_settings\`: ${reason}`,
  );
}

/** Throws what the Rust side would answer to saving `settings`; returns when it would save. */
export function checkSettings(settings: AlertSettings): void {
  const a = settings.auto_extend;
  const minutes = [
    ...settings.warn_before_minutes,
    a.extend_by_minutes,
    a.when_below_minutes,
    a.active_within_minutes,
  ];
  for (const value of minutes) {
    const reason = notU32(value);
    if (reason) throw badArgs(reason);
  }
  if (typeof a.spend_cap_usd !== "number") {
    throw badArgs(`invalid type: ${String(a.spend_cap_usd)}, expected f64`);
  }
  if (settings.warn_before_minutes.some((m) => m === 0 || m > MAX_WARN_MINUTES)) {
    throw new BackendError("invalid_input", MOCK_THRESHOLD_MESSAGE);
  }
  if (a.extend_by_minutes === 0 || !(Number.isFinite(a.spend_cap_usd) && a.spend_cap_usd >= 0)) {
    throw new BackendError("invalid_input", MOCK_AUTO_EXTEND_MESSAGE);
  }
}

export class MockSettings {
  #saved: AlertSettings;

  constructor(initial: AlertSettings = defaultAlertSettings()) {
    this.#saved = structuredClone(initial);
  }

  get(): AlertSettings {
    return structuredClone(this.#saved);
  }

  /** Throws what the Rust side would answer to saving `settings`, without saving them. */
  check(settings: AlertSettings): void {
    checkSettings(settings);
  }

  save(settings: AlertSettings): void {
    checkSettings(settings);
    this.#saved = structuredClone(settings);
  }
}
