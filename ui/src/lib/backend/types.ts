// The one interface the UI talks to. `tauri.ts` implements it over the generated bindings,
// `mock.ts` for Vitest and the web build. Nothing outside this folder imports `@tauri-apps/*`.
import type {
  AccountView_Serialize,
  AlertSettings,
  Account_Serialize,
  AppInfo,
  ApiError,
  ErrorCode,
  Detail_Serialize,
  EndedSession_Serialize,
  HistoryEntry_Serialize,
  HistoryKind_Serialize,
  Job_Serialize,
  LaunchRequest_Deserialize,
  Lifetime_Serialize,
  LogLine_Serialize,
  Machine_Serialize,
  NewAccount_Deserialize,
  PairingOffered,
  Parameter,
  Prompt,
  ProviderDescriptor_Serialize,
  Resource_Serialize,
  Session_Serialize,
  Capabilities_Serialize,
  WatchEvent_Serialize,
} from "./bindings";

export type {
  AlertSettings,
  ParamKind,
  Parameter,
  Prompt,
  ApiError,
  AppInfo,
  AutoExtend,
  Availability,
  ClockKind,
  ClockWarning,
  EndReason,
  ErrorCode,
  KeychainStatus,
  KeyState,
  LocalServerStatus,
  PairingOffered,
  Problem,
  ProviderKind,
  ResourceKind,
  SessionState,
} from "./bindings";

/** What a provider is and offers (`porthole_core::descriptor`; the values in `providers.ts`). */
export type ProviderDescriptor = ProviderDescriptor_Serialize;

/** How long a provider's sessions may be launched for. */
export type Lifetime = Lifetime_Serialize;

/** An account profile as the backend sends it (never with its key). */
export type Account = Account_Serialize;

/** An account as listed: its profile, the state of its key, and whether it is the default. */
export type AccountView = AccountView_Serialize;

/** What adding an account sends: the profile and, once, its API key. */
export type NewAccount = NewAccount_Deserialize;

/** What `editAccount` changes; a field left out stays as it is. */
export interface AccountChanges {
  name?: string;
  baseUrl?: string;
}

/** One session, provider-neutral, as the watchers last saw it. */
export type Session = Session_Serialize;
/** What the UI may offer for a session, as the Rust side sends it. */
export type Capabilities = Capabilities_Serialize;

/** What a launch asks for: the machine (template), and the resource, timeout, mode and parameters
 * (left out or `null`: the defaults). */
export type LaunchRequest = LaunchRequest_Deserialize;

/** A session template (ComfyDeploy machine, portholed template, runbook). */
export type Machine = Machine_Serialize;

/** A thing a session can be launched on: a GPU type, a QPU backend, a runbook. */
export type Resource = Resource_Serialize;

/** One line of a session's start-up or run log. */
export type LogLine = LogLine_Serialize;

/** One fact a provider tells about a session or an account: a value, a moment, or both, and a
 * link to the provider's own page where it has one. */
export type Detail = Detail_Serialize;

/** One unit of work inside a session (a QPU session's job), its status as the provider wrote it. */
export type Job = Job_Serialize;

/** One thing this app did to a session (launched, extended by hand or automatically, stop
 * asked), with when (`at`, RFC 3339), tagged by `kind`. */
export type HistoryEntry = HistoryEntry_Serialize;

/** What a history entry says happened, tagged by `kind` (an answer says whether it refused). */
export type HistoryKind = HistoryKind_Serialize;

/** A session that ended, kept by the Rust side (across restarts) until it is dismissed or
 * cleared, with when it ended (`ended_at`, RFC 3339). */
export type EndedSession = EndedSession_Serialize;

/** What the watchers tell the UI (`session-event`), tagged by `kind`. */
export type WatchEvent = WatchEvent_Serialize;

/** The id of the built-in Local account (the embedded session server). */
export const LOCAL_ACCOUNT_ID = "local";

/** The longest warning threshold, in minutes (porthole-core `SettingsStore::save`: 24 hours). */
export const MAX_WARN_MINUTES = 24 * 60;

/** The alert settings used until the user saves theirs (porthole-core `AlertSettings::default`). */
export function defaultAlertSettings(): AlertSettings {
  return {
    notifications: true,
    warn_before_minutes: [10, 2],
    auto_extend: {
      enabled: false,
      extend_by_minutes: 15,
      when_below_minutes: 5,
      active_within_minutes: 10,
      spend_cap_usd: 10,
    },
  };
}

/** What every generated command returns. */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

/** A session the app asked the main window to show (see `Backend.takeShownSession`). */
export interface ShownSession {
  accountId: string;
  sessionId: string;
  relaunch: boolean;
}

export interface Backend {
  /** The app's version, folders and keychain status. Throws a `BackendError`. */
  appInfo(): Promise<AppInfo>;

  // Accounts. Every call throws a `BackendError` with the provider's or the keychain's reason.
  // A key goes to the backend once and never comes back: views only say whether one is set.

  /** Every account, the Local one first, with the state of its key. */
  listAccounts(): Promise<AccountView[]>;
  /** Adds an account once its key has worked against the provider; nothing is saved otherwise. */
  addAccount(account: NewAccount): Promise<AccountView>;
  /** Replaces an account's key once the new one has worked. Not for the Local account. */
  setAccountKey(id: string, key: string): Promise<AccountView>;
  /** Renames an account and/or points it at another base URL; its id and key stay. */
  editAccount(id: string, changes: AccountChanges): Promise<AccountView>;
  /** Removes an account and deletes its key from the keychain. Not for the Local account. */
  removeAccount(id: string): Promise<void>;
  /** Tries the stored key against the provider. */
  testAccount(id: string): Promise<void>;
  /** Makes the account the one used when none is named. */
  setDefaultAccount(id: string): Promise<AccountView>;
  /** Adds, as `name`, the portholed a pairing string names (`portholed pair` prints one; a
   * `porthole://pair` link carries one): its one-time token is exchanged for the key over TLS
   * pinned to its certificate fingerprint, kept in `fields.tls_fingerprint`. With `pairing`
   * null, the pairing a link offered (`offeredPairing`). `invalid_input` when it is no pairing
   * string, `unauthorized` when it was used or is too old, `certificate_mismatch` when the
   * server presents another certificate. */
  pairAccount(name: string, pairing: string | null): Promise<AccountView>;
  /** Where a pasted pairing string (or `porthole://pair` link) leads: its address and
   * certificate, for the form to show before the person confirms. Its token is neither spent nor
   * returned. `invalid_input`, saying why, when it is no pairing string (the message never
   * echoes the text). */
  readPairing(pairing: string): Promise<PairingOffered>;
  /** What a `porthole://pair` link offered, while it waits (null: nothing); its token stays in
   * the backend. Not taken: it waits until paired with or dismissed. */
  offeredPairing(): Promise<PairingOffered | null>;
  /** Forgets what a link offered (the person closed the form). */
  dismissOfferedPairing(): Promise<void>;
  /** Calls `listener` with each pairing a `porthole://pair` link offers (the main window is
   * shown first); returns the unsubscribe. One offered before the page was up: `offeredPairing`. */
  onPairingOffered(listener: (offer: PairingOffered) => void): () => void;

  // Sessions. The watchers own them: the UI takes one `listSessions` snapshot, then follows
  // `onSessionEvent`; it never polls. Every call throws a `BackendError`.

  /** The sessions of one account (or of all, with `null`), as the watchers last saw them. */
  listSessions(accountId: string | null): Promise<Session[]>;
  /** The ended sessions kept (across restarts), with when each ended. */
  endedSessions(): Promise<EndedSession[]>;
  /** Forgets one ended session for good. */
  dismissEnded(accountId: string, sessionId: string): Promise<void>;
  /** Forgets every ended session ("Clear ended"). */
  clearEnded(): Promise<void>;
  /** Launches a session; it then shows up in the events (added, updated, ready). */
  launchSession(accountId: string, request: LaunchRequest): Promise<Session>;
  /** Moves the session's deadline `minutes` later (within the provider's limits). */
  extendSession(accountId: string, sessionId: string, minutes: number): Promise<void>;
  /** Asks the provider to stop it: the session is `stopping` until it confirms, then `ended`. */
  stopSession(accountId: string, sessionId: string): Promise<void>;
  /** Asks the provider to cancel it (its work abandoned); `invalid_input` where it cannot. */
  cancelSession(accountId: string, sessionId: string): Promise<void>;
  /** What a launch on `resource` takes (empty for most providers). */
  launchParameters(accountId: string, resource: string): Promise<Parameter[]>;
  /** What the session waits on a person for now. */
  sessionPrompts(accountId: string, sessionId: string): Promise<Prompt[]>;
  /** What the account's provider tells about it (IBM: the instance's usage); often nothing. */
  accountDetails(id: string): Promise<Detail[]>;
  /** Its jobs, newest first (where its provider has jobs; `invalid_input` elsewhere). */
  sessionJobs(accountId: string, sessionId: string): Promise<Job[]>;
  /** Answers one of its prompts; `invalid_input` naming what is missing or wrong. */
  respondToPrompt(
    accountId: string,
    sessionId: string,
    promptId: string,
    values: Record<string, string>,
  ): Promise<void>;
  /** Refuses one of its prompts (one whose `reject_label` says it can be); `invalid_input`
   * where it cannot. */
  rejectPrompt(accountId: string, sessionId: string, promptId: string): Promise<void>;
  /** Every provider this build has (a test build's scripted one too). */
  providerDescriptors(): Promise<ProviderDescriptor[]>;
  /** The machines (templates) of an account, with whether each can launch now. */
  listMachines(accountId: string): Promise<Machine[]>;
  /** The resources (GPUs, QPU backends, runbooks) of an account, with price and availability. */
  listResources(accountId: string): Promise<Resource[]>;
  /** Calls `onLine` with each line of the session's log; resolves when the log ends. */
  followLogs(accountId: string, sessionId: string, onLine: (line: LogLine) => void): Promise<void>;
  /** Asks every watcher to fetch its account now. */
  refreshSessions(): Promise<void>;
  /** Opens the session's own window; `invalid_input` when it is not ready. */
  openSession(accountId: string, sessionId: string): Promise<void>;
  /** Makes a just-launched session's window ahead, hidden, so that `openSession` shows it at
   * once when the session is ready (only for a session with a page of its own). */
  prepareSessionWindow(accountId: string, sessionId: string): Promise<void>;
  /** Closes the window made ahead for a session that is not going to be opened from here; nothing
   * when there is none (or it was opened). */
  releaseSessionWindow(sessionId: string): Promise<void>;
  /** What this app did to the session while it ran, oldest first (empty when nothing, or when
   * the session is unknown). Throws a `BackendError` only when the call itself fails. */
  sessionHistory(accountId: string, sessionId: string): Promise<HistoryEntry[]>;
  /** Calls `listener` whenever the app asks the main window to show a session ("Open" on a
   * session without a web page, from the tray or a link): then `takeShownSession` says which.
   * Returns the unsubscribe. */
  onShowSession(listener: () => void): () => void;
  /** Calls `listener` each time the accounts changed outside the window (the CLI, another copy
   * of the app); returns the unsubscribe. */
  onAccountsChanged(listener: () => void): () => void;
  /** The session the app asked the main window to show, once (null: none); `relaunch`: to
   * launch it again there (Relaunch in its ended window). */
  takeShownSession(): Promise<ShownSession | null>;
  /** Calls `listener` with every watcher event from now on; returns the unsubscribe. */
  onSessionEvent(listener: (event: WatchEvent) => void): () => void;

  // Settings, stored beside the accounts config (`settings.json`).

  /** The alert settings: the saved ones, or the defaults when none were saved. */
  getSettings(): Promise<AlertSettings>;
  /** Saves the alert settings; `invalid_input` when a threshold, the extension or the cap is out
   * of range (nothing is saved then). Throws a `BackendError`. */
  saveSettings(settings: AlertSettings): Promise<void>;

  // Startup: an XDG autostart entry, written or removed at once (not part of `settings.json`).

  /** Whether Porthole starts when the user logs in (off by default). Throws a `BackendError`. */
  getStartAtLogin(): Promise<boolean>;
  /** Turns starting at login on or off, at once; `io` when the autostart entry cannot be written
   * or removed. Throws a `BackendError`. */
  setStartAtLogin(enabled: boolean): Promise<void>;

  /** Quits the app. Local sessions run on this computer: they keep running when
   * `keepLocalSessions`, else they stop with it. Cloud sessions are not touched. */
  quit(keepLocalSessions: boolean): Promise<void>;
}

/** A failed backend call: the coded error the Rust side sent, or `internal` for anything else. */
export class BackendError extends Error {
  override readonly name = "BackendError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/**
 * Every code, with what it means to a user. A `Record` so that a code added on the Rust side
 * fails `npm run check` until the UI knows how to name it.
 */
export const ERROR_TITLES: Record<ErrorCode, string> = {
  unauthorized: "The key was rejected",
  keychain_unavailable: "The OS keychain is unavailable",
  session_gone: "The session no longer exists",
  quota_exceeded: "Quota or credit exhausted",
  rate_limited: "Too many requests",
  upstream_unavailable: "The provider cannot be reached",
  invalid_input: "Invalid input",
  invalid_response: "Unexpected answer from the provider",
  io: "Local file error",
  session_failed: "The session did not complete",
  certificate_mismatch: "The server's certificate does not match",
  internal: "Internal error",
};

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_TITLES, value);
}

export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const { code, message } = value as Record<string, unknown>;
  return isErrorCode(code) && typeof message === "string";
}

/** Turns whatever a call threw or returned as its error into a `BackendError`. */
export function toBackendError(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  if (isApiError(error)) return new BackendError(error.code, error.message);
  if (error instanceof Error) return new BackendError("internal", error.message);
  return new BackendError("internal", String(error));
}

/** The value of an `ok` result; the error of an `error` result, thrown as a `BackendError`. */
export function unwrap<T>(result: Result<T, ApiError>): T {
  if (result.status === "ok") return result.data;
  throw toBackendError(result.error);
}
