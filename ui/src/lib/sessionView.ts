// How the UI names, filters, sorts and relaunches sessions. Pure functions over the store's
// entries, so the list and the tests agree on one definition of each.
import {
  ACCEPTED_STATES,
  CLOCK_LABELS,
  END_REASONS,
  STATE_LABELS,
  UP_STATES,
} from "./backend/vocabulary";
import type {
  Availability,
  ClockKind,
  EndReason,
  HistoryEntry,
  LaunchRequest,
  Problem,
  ProviderDescriptor,
  Session,
  SessionState,
} from "./backend";
import { sessionClocks } from "./backend/clocks";
import { formatDuration, formatMinutes } from "./format";

/** A session as the store keeps it: the last known session (ended ones too) and how it began. */
export interface SessionEntry {
  /** `account/id`: sessions of different accounts may share an id. */
  key: string;
  /** As the watcher last told it; its state is `ended` (with the reason) once it is over. */
  session: Session;
  /** When this app learnt it ended (ms), for the cost. */
  endedAt: number | null;
  /** What launched it, when this app did: the settings a relaunch reuses. */
  request: LaunchRequest | null;
}

export function sessionKey(accountId: string, sessionId: string): string {
  return `${accountId}/${sessionId}`;
}

/** An account the watchers cannot reach now: why, and when its sessions were last read (RFC 3339;
 * `null`: not since the app started). */
export interface OfflineAccount {
  problem: Problem;
  confirmedAt: string | null;
}

/** What a row of an offline account says: "Not confirmed for 40 s — why" at `now` (ms), or
 * "Not confirmed — why" when its sessions were never read. */
export function staleNote(offline: OfflineAccount, now: number): string {
  const since = offline.confirmedAt === null ? NaN : Date.parse(offline.confirmedAt);
  const how = Number.isNaN(since) ? "Not confirmed" : `Not confirmed for ${formatDuration((now - since) / 1000)}`;
  return `${how} — ${offline.problem.message}`;
}

export type StateName = SessionState["state"];

export { STATE_LABELS };

/** The state's label: the Rust side's words for its kind, and a state Porthole does not know as
 * its provider wrote it. */
export function stateLabel(state: SessionState): string {
  if (state.state === "other" && state.reason !== "") return state.reason;
  return STATE_LABELS[state.state];
}

/** Why a session ended, in a few words (the Rust side's, capitalised). */
export function endReasonText(reason: EndReason): string {
  const words = END_REASONS[reason.kind];
  const text = words.charAt(0).toUpperCase() + words.slice(1);
  return reason.kind === "failed" && reason.detail !== "" ? `${text}: ${reason.detail}` : text;
}

/** Usable now: its page answers. */
export function isUp(state: SessionState): boolean {
  return UP_STATES.includes(state.state);
}

/** Ready for the kind of session it is (as `Session::is_ready_for_work` decides in Rust): a
 * session with a web page once it answers, one without once the provider has accepted it. */
export function isReadyForWork(session: Session): boolean {
  return session.capabilities.has_ui ? isUp(session.state) : ACCEPTED_STATES.includes(session.state.state);
}

/** Whether it has a page that can be opened now (as `Session::can_open` decides in Rust). */
export function canOpen(session: Session): boolean {
  return isUp(session.state) && session.capabilities.has_ui;
}

/** Its clocks, soonest first (one definition, beside the backend's types). */
export { sessionClocks };

/** Its clocks other than the hard deadline (which the list shows on its own), soonest first. */
export function extraClocks(session: Session): { kind: ClockKind; at: string }[] {
  return sessionClocks(session).filter((c) => c.kind !== "hard");
}

/** How close to its deadline a session's countdown turns urgent: its last two minutes. */
export const URGENT_MS = 2 * 60_000;

/** Whether `deadline` is within the last two minutes (or past) at `now` (ms). */
export function endingSoon(deadline: string | null, now: number): boolean {
  if (deadline === null) return false;
  const at = Date.parse(deadline);
  return !Number.isNaN(at) && at - now <= URGENT_MS;
}

export type StateFilter = "all" | "starting" | "ready" | "stopping" | "ended";

export const STATE_FILTERS: { value: StateFilter; label: string }[] = [
  { value: "all", label: "All states" },
  { value: "starting", label: "Starting" },
  { value: "ready", label: "Ready or running" },
  { value: "stopping", label: "Stopping" },
  { value: "ended", label: "Ended" },
];

const FILTER_STATES: Record<StateFilter, StateName[] | null> = {
  all: null,
  starting: ["starting", "queued", "connecting"],
  ready: ["ready", "expiring", "idle", "draining", "waiting_for_input", "other"],
  stopping: ["stopping"],
  ended: ["ended"],
};

export type SessionSort = "deadline" | "name" | "newest";

export const SORTS: { value: SessionSort; label: string }[] = [
  { value: "deadline", label: "Deadline (soonest first)" },
  { value: "name", label: "Name" },
  { value: "newest", label: "Newest first" },
];

/** The entries whose state passes `state` and whose name, machine (id or name), resource or
 * account contains `text` (any case). */
export function filterEntries(
  entries: SessionEntry[],
  text: string,
  state: StateFilter,
  accountName: (id: string) => string = (id) => id,
): SessionEntry[] {
  const states = FILTER_STATES[state];
  const needle = text.trim().toLowerCase();
  return entries.filter(({ session }) => {
    if (states && !states.includes(session.state.state)) return false;
    if (needle === "") return true;
    const haystack = [
      session.name,
      session.machine_id ?? "",
      session.machine_name ?? "",
      session.resource ?? "",
      accountName(session.account_id),
      session.status_label ?? "",
    ];
    return haystack.some((field) => field.toLowerCase().includes(needle));
  });
}

function deadlineOf(entry: SessionEntry): number {
  const { session } = entry;
  if (session.state.state === "ended" || session.deadline === null) return Infinity;
  return Date.parse(session.deadline);
}

// `localeCompare` without arguments, but with one collator rather than one a call.
const collator = new Intl.Collator();

/** What an entry sorts by, read (and its dates parsed) once per entry rather than once per
 * comparison: a list may hold thousands. */
interface SortKeys {
  entry: SessionEntry;
  ended: number;
  deadline: number;
  created: number;
  name: string;
  key: string;
}

const byName = (a: SortKeys, b: SortKeys) =>
  collator.compare(a.name, b.name) || collator.compare(a.key, b.key);

const ORDERS: Record<SessionSort, (a: SortKeys, b: SortKeys) => number> = {
  deadline: (a, b) => a.ended - b.ended || a.deadline - b.deadline || byName(a, b),
  name: byName,
  newest: (a, b) => b.created - a.created || byName(a, b),
};

/** A sorted copy. Deadline: soonest first, then those without one, then ended ones. */
export function sortEntries(entries: SessionEntry[], sort: SessionSort): SessionEntry[] {
  const keyed = entries.map((entry): SortKeys => {
    const { session } = entry;
    return {
      entry,
      ended: session.state.state === "ended" ? 1 : 0,
      deadline: sort === "deadline" ? deadlineOf(entry) : 0,
      created: sort === "newest" ? Date.parse(session.created_at) : 0,
      name: session.name,
      key: entry.key,
    };
  });
  return keyed.sort(ORDERS[sort]).map((k) => k.entry);
}

/** `entries` in the order `shown` (their keys, as the list showed them) had: those already shown
 * stay where they were, new ones follow in their own order, and gone ones drop out. The list
 * keeps its order this way while the pointer or the focus is on it. */
export function keepOrder(shown: string[], entries: SessionEntry[]): SessionEntry[] {
  const byKey = new Map(entries.map((e) => [e.key, e]));
  const kept = shown.flatMap((key) => byKey.get(key) ?? []);
  const had = new Set(shown);
  return [...kept, ...entries.filter((e) => !had.has(e.key))];
}

/** What a relaunch needs to know of the session's provider (from its descriptor). */
export type RelaunchFacts = Pick<ProviderDescriptor, "launch" | "lifetime">;

/** The settings to launch it again: those it was launched with, or the closest we know. */
export function relaunchRequest(entry: SessionEntry, provider: RelaunchFacts): LaunchRequest | null {
  if (entry.request) return { ...entry.request };
  const { session } = entry;
  // Its template; or, for a provider without templates, the resource it ran on.
  if (session.machine_id === null && (provider.launch.template_required || session.resource === null)) {
    return null;
  }
  return {
    machine_id: session.machine_id ?? "",
    resource: session.resource,
    timeout_minutes: null,
  };
}

/** The same launch with the next longer of the provider's lifetimes, for a session that cannot
 * be extended ("Relaunch with a longer limit"); `null` when there is no longer one. */
export function longerRequest(entry: SessionEntry, provider: RelaunchFacts): LaunchRequest | null {
  const base = relaunchRequest(entry, provider);
  if (base === null) return null;
  const { lifetime } = provider;
  const current = base.timeout_minutes ?? lifetime.default_minutes;
  const longer = lifetime.choices.find((minutes) => minutes > current);
  return longer === undefined ? null : { ...base, timeout_minutes: longer };
}

/** Each of the provider's extension `steps`, and whether it keeps the session within
 * `maxMinutes` of its creation (the provider's session-length ceiling, measured as
 * `porthole_core::descriptor::extension_fits` measures it; `null`: no limit). */
export function extendChoices(
  deadline: string | null,
  createdAt: string,
  steps: number[],
  maxMinutes: number | null,
): { minutes: number; allowed: boolean }[] {
  const at = deadline === null ? NaN : Date.parse(deadline);
  const created = Date.parse(createdAt);
  return steps.map((minutes) => ({
    minutes,
    allowed:
      maxMinutes === null ||
      Number.isNaN(at) ||
      at + minutes * 60_000 - created <= maxMinutes * 60_000,
  }));
}

/** "Available", "Busy: 3 in queue", "Unavailable: reason", "Availability unknown". */
export function availabilityText(availability: Availability): string {
  switch (availability.status) {
    case "available":
      return "Available";
    case "busy":
      return `Busy: ${availability.queue_length} in queue`;
    case "unavailable":
      return `Unavailable: ${availability.reason}`;
    case "unknown":
      return "Availability unknown";
  }
}

/** A history entry in words: "Launched", "Extended +15 min", "Auto-extended +15 min",
 * "Stop requested". */
export function historyText(entry: HistoryEntry): string {
  switch (entry.kind) {
    case "launched":
      return "Launched";
    case "extended":
      return `${entry.automatic ? "Auto-extended" : "Extended"} +${formatMinutes(entry.minutes)}`;
    case "stop_requested":
      return "Stop requested";
    case "cancel_requested":
      return "Cancel requested";
    case "answered":
      return `${entry.rejected ? "Refused" : "Answered"} ${entry.prompt}`;
    case "state":
      return entry.state.state === "ended" ? endReasonText(entry.state.reason) : stateLabel(entry.state);
    case "warned":
      return `Warned: ${CLOCK_LABELS[entry.clock].toLowerCase()} within ${formatMinutes(entry.threshold_minutes)}`;
  }
}
