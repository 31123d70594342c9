// The Settings screen's form, as plain data: what the fields hold, the checks the Rust side makes
// on save (porthole-core `SettingsStore::save`, and the `u32` minutes it deserializes), with
// messages that say how to fix each field, and the words for the warning thresholds.
import { type AlertSettings, MAX_WARN_MINUTES } from "./backend";

/** The largest whole number of minutes the Rust side takes (`u32`). */
const U32_MAX = 4_294_967_295;

/** The auto-extend fields; a number field is `null` while it is empty. */
export interface AutoExtendDraft {
  enabled: boolean;
  extendBy: number | null;
  whenBelow: number | null;
  activeWithin: number | null;
  spendCap: number | null;
}

/** What the form holds; `thresholds` is kept sorted, largest first, without duplicates. */
export interface SettingsDraft {
  notifications: boolean;
  thresholds: number[];
  autoExtend: AutoExtendDraft;
}

/** The fields that can be wrong, for inline messages. */
export type DraftField = "thresholds" | "extendBy" | "whenBelow" | "activeWithin" | "spendCap";

export type DraftErrors = Partial<Record<DraftField, string>>;

/** The fields in the order they appear, to focus the first wrong one. */
export const DRAFT_FIELDS: DraftField[] = [
  "thresholds",
  "extendBy",
  "whenBelow",
  "activeWithin",
  "spendCap",
];

/** Largest first, each once. */
export function sortThresholds(minutes: number[]): number[] {
  return [...new Set(minutes)].sort((a, b) => b - a);
}

export function toDraft(settings: AlertSettings): SettingsDraft {
  const a = settings.auto_extend;
  return {
    notifications: settings.notifications,
    thresholds: sortThresholds(settings.warn_before_minutes),
    autoExtend: {
      enabled: a.enabled,
      extendBy: a.extend_by_minutes,
      whenBelow: a.when_below_minutes,
      activeWithin: a.active_within_minutes,
      spendCap: a.spend_cap_usd,
    },
  };
}

/** The settings to save from a draft that `validateDraft` passed. */
export function fromDraft(draft: SettingsDraft): AlertSettings {
  const a = draft.autoExtend;
  return {
    notifications: draft.notifications,
    warn_before_minutes: sortThresholds(draft.thresholds),
    auto_extend: {
      enabled: a.enabled,
      extend_by_minutes: a.extendBy ?? 0,
      when_below_minutes: a.whenBelow ?? 0,
      active_within_minutes: a.activeWithin ?? 0,
      spend_cap_usd: a.spendCap,
    },
  };
}

/** Whether two drafts hold the same values (an empty field differs from 0). */
export function sameDraft(a: SettingsDraft, b: SettingsDraft): boolean {
  const plain = ({ notifications, thresholds, autoExtend: x }: SettingsDraft) =>
    JSON.stringify([
      notifications,
      sortThresholds(thresholds),
      [x.enabled, x.extendBy, x.whenBelow, x.activeWithin, x.spendCap],
    ]);
  return plain(a) === plain(b);
}

/** Whether `value` is a threshold the Rust side takes: whole minutes, 1 to 24 hours. */
export function isThreshold(value: number | null): value is number {
  return value !== null && Number.isInteger(value) && value >= 1 && value <= MAX_WARN_MINUTES;
}

const THRESHOLD_RANGE = `a whole number of minutes from 1 to ${MAX_WARN_MINUTES} (24 hours)`;

/** Why `value` cannot be added to `thresholds`, or null when it can. */
export function thresholdError(value: number | null, thresholds: number[]): string | null {
  if (value === null) return `Enter ${THRESHOLD_RANGE}.`;
  if (!isThreshold(value)) return `A warning threshold is ${THRESHOLD_RANGE}.`;
  if (thresholds.includes(value)) return `${formatCount(value)} is in the list already.`;
  return null;
}

function wholeMinutes(value: number | null, least: number): boolean {
  return value !== null && Number.isInteger(value) && value >= least && value <= U32_MAX;
}

/** The checks the Rust side makes on save, field by field; empty when the draft can be saved. */
export function validateDraft(draft: SettingsDraft): DraftErrors {
  const errors: DraftErrors = {};
  const wrong = draft.thresholds.filter((m) => !isThreshold(m));
  if (wrong.length > 0) {
    errors.thresholds = `Warning thresholds are ${THRESHOLD_RANGE}: remove ${wrong.join(", ")}.`;
  }
  const a = draft.autoExtend;
  if (!wholeMinutes(a.extendBy, 1)) {
    errors.extendBy = "Extend by a whole number of minutes, 1 or more.";
  }
  if (!wholeMinutes(a.whenBelow, 0)) {
    errors.whenBelow = "Enter a whole number of minutes, 0 or more.";
  }
  if (!wholeMinutes(a.activeWithin, 0)) {
    errors.activeWithin = "Enter a whole number of minutes, 0 or more.";
  }
  if (a.spendCap === null || !Number.isFinite(a.spendCap) || a.spendCap < 0) {
    errors.spendCap = "Enter a spending cap in USD, 0 or more.";
  }
  return errors;
}

/** "1 minute", "10 minutes". */
export function formatCount(minutes: number): string {
  return minutes === 1 ? "1 minute" : `${minutes} minutes`;
}

/** "10, 5 and 2": the numbers, largest first, for a sentence. */
function joinNumbers(minutes: number[]): string {
  if (minutes.length <= 1) return minutes.join("");
  return `${minutes.slice(0, -1).join(", ")} and ${minutes[minutes.length - 1]}`;
}

/** "Warn 10 and 2 minutes before a session times out.", or that it will not warn. */
export function describeThresholds(thresholds: number[]): string {
  const sorted = sortThresholds(thresholds);
  if (sorted.length === 0) return "No warning before a session times out.";
  const unit = sorted.length === 1 && sorted[0] === 1 ? "minute" : "minutes";
  return `Warn ${joinNumbers(sorted)} ${unit} before a session times out.`;
}
