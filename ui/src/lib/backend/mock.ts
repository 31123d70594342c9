import { MOCK_DEMO_ACCOUNTS, MockAccounts, type MockAccountSeed } from "./mock-accounts";
import { MockPairing, mockPairingString } from "./mock-pairing";
import { MockSessions } from "./mock-sessions";
import { MockSettings } from "./mock-settings";
import { demoEndedSessions, demoSessions } from "./mock-sessions-data";
import {
  type AccountChanges,
  type AccountView,
  type AlertSettings,
  type AppInfo,
  type Backend,
  type Detail,
  BackendError,
  type EndedSession,
  type ErrorCode,
  type HistoryEntry,
  isErrorCode,
  type Job,
  type LaunchRequest,
  LOCAL_ACCOUNT_ID,
  type LogLine,
  type Machine,
  type NewAccount,
  type PairingOffered,
  type Parameter,
  type Prompt,
  type ProviderDescriptor,
  type Resource,
  type Session,
  type ShownSession,
  type WatchEvent,
} from "./types";
import { PROVIDER_KINDS, PROVIDERS } from "./providers";

export {
  MOCK_DEMO_ACCOUNTS,
  MOCK_LOCAL_ACCOUNT,
  MOCK_REJECTED_KEY_MESSAGE,
  type MockAccountSeed,
} from "./mock-accounts";
export {
  MOCK_NO_PAIRING_MESSAGE,
  MOCK_PAIRING_BASE_URL,
  MOCK_PAIRING_FINGERPRINT,
  MOCK_PAIRING_REFUSED_MESSAGE,
  mockPairingString,
} from "./mock-pairing";
export {
  MOCK_HISTORY_PER_SESSION,
  MOCK_MAX_MINUTES,
  MockSessions,
} from "./mock-sessions";
export { MOCK_AUTO_EXTEND_MESSAGE, MOCK_THRESHOLD_MESSAGE } from "./mock-settings";
export {
  demoEndedSessions,
  demoSessions,
  MOCK_CLOUD_MACHINES,
  MOCK_CLOUD_RESOURCES,
  MOCK_LOCAL_MACHINES,
  MOCK_LOCAL_RESOURCES,
  MOCK_RUNBOOKS,
  startupLog,
} from "./mock-sessions-data";

export interface MockOptions {
  /** What `appInfo()` answers when it does not fail. */
  appInfo?: AppInfo;
  /** Make `appInfo()` fail with this code... */
  failWith?: ErrorCode;
  /** ...on its first `failTimes` calls only (every call when absent). */
  failTimes?: number;
  /** The message of that failure. */
  failMessage?: string;
  /** Answer every call after this many milliseconds, to show loading and progress states. */
  delayMs?: number;
  /** The accounts besides Local the mock starts with (read once, by the constructor). */
  accounts?: MockAccountSeed[];
  /** The id of the default account at the start (Local when absent). */
  defaultAccount?: string;
  /** When set, the keychain cannot be used, for this reason: keys show `keychain_unavailable`. */
  keychainError?: string;
  /** Make `listAccounts()` fail with this code. */
  listAccountsFailWith?: ErrorCode;
  /** The sessions the simulated watchers start with (read once, by the constructor). */
  sessions?: Session[];
  /** Ended sessions kept from an earlier run (read once, by the constructor). */
  endedSessions?: EndedSession[];
  /** Answer `listSessions()` this many ms later still (the render benchmark: after the page
   * settled). */
  listDelayMs?: number;
  /** How long each step of a simulated launch or stop takes, in ms (600 when absent). */
  sessionSpeedMs?: number;
  /** Make `launchSession()` fail with this code. */
  launchFailWith?: ErrorCode;
  /** An account whose watcher reports it offline as soon as someone listens. */
  offlineAccount?: string;
  /** The mock's clock, for deadlines (`Date.now` when absent). */
  now?: () => number;
  /** The saved alert settings at the start (the defaults when absent; read once). */
  settings?: AlertSettings;
  /** Make `getSettings()` fail with this code. */
  getSettingsFailWith?: ErrorCode;
  /** Make `saveSettings()` fail with this code (after its checks; nothing is saved). */
  saveSettingsFailWith?: ErrorCode;
  /** The ids of sessions (among `sessions`) that auto-extend already extended once as the app
   * started, by the saved `extend_by_minutes`: their deadline moved and their history says so
   * (read once, by the constructor). */
  autoExtended?: string[];
  /** Make `sessionHistory()` fail with this code. */
  historyFailWith?: ErrorCode;
  /** Whether Porthole starts at login at the start (off when absent; read once). */
  startAtLogin?: boolean;
  /** Make `getStartAtLogin()` fail with this code. */
  getStartAtLoginFailWith?: ErrorCode;
  /** Make `setStartAtLogin()` fail with this code (nothing changes). */
  setStartAtLoginFailWith?: ErrorCode;
  /** A pairing string or `porthole://pair` link offered as the app started (the link started
   * it; read once, by the constructor). */
  offeredPairing?: string;
}

/** The performance mark `listSessions` sets as it answers (the render benchmark reads it). */
export const MOCK_LISTED_MARK = "porthole-mock-sessions-listed";

/** The performance mark `quit` sets, its `detail` saying `{ keepLocalSessions }` (the web build's
 * tests read it: the page itself stays). */
export const MOCK_QUIT_MARK = "porthole-mock-quit";

/** `count` ready terminal sessions on Local, like the demo's "shell" (`?mock-sessions=<count>`). */
export function manySessions(count: number, now: number): Session[] {
  const shell = demoSessions(now).find(
    (s) => s.account_id === LOCAL_ACCOUNT_ID && s.state.state === "ready",
  );
  if (!shell) throw new Error("the demo sessions have no ready Local session");
  return Array.from({ length: count }, (_, i) => ({
    ...shell,
    id: `many-${i}`,
    name: `shell-${i}`,
    deadline: new Date(now + (30 + (i % 600)) * 60_000).toISOString(),
  }));
}

/** How long each step of a simulated launch or stop takes when `sessionSpeedMs` is not set. */
export const MOCK_SESSION_SPEED_MS = 600;

export const MOCK_APP_INFO: AppInfo = {
  name: "Porthole",
  version: "0.1.0-mock",
  config_dir: "/home/demo/.config/porthole",
  data_dir: "/home/demo/.local/share/porthole",
  keychain: { usable: true, error: null },
  local_server: { state: "running", base_url: "http://127.0.0.1:7788/api", key_in_keychain: true },
  settings_problem: null,
};

export const MOCK_KEYCHAIN_MESSAGE = "No Secret Service provider is running on the session bus.";

/** How `set_start_at_login` words its failures; the plugin's reason follows. */
export const MOCK_START_AT_LOGIN_PREFIX = "Starting at login could not be changed: ";
/** The Rust side's wording when reading the autostart state fails. */
export const MOCK_START_AT_LOGIN_READ_PREFIX = "Whether Porthole starts at login could not be read: ";

/** A backend with no Rust behind it, for Vitest and for the web build that Playwright drives. */
export class MockBackend implements Backend {
  /** How many times `appInfo()` was called. */
  appInfoCalls = 0;
  /** The account calls made, as `method` or `method id`, oldest first (keys and pairing strings
   * are never recorded; `pairAccount offered`: with the pairing a link offered). */
  readonly accountCalls: string[] = [];
  /** How many times `getSettings()` and `saveSettings()` were called. */
  settingsCalls = { get: 0, save: 0 };
  /** The values `setStartAtLogin()` was called with, oldest first (failed calls included). */
  readonly startAtLoginCalls: boolean[] = [];
  /** The values `quit()` was called with (whether Local sessions keep running), oldest first. */
  readonly quitCalls: boolean[] = [];
  #options: MockOptions;
  /** The stand-in for the XDG autostart entry: whether it exists. */
  #startAtLogin: boolean;
  #accounts: MockAccounts;
  #settings: MockSettings;
  #pairing: MockPairing;
  #showListeners = new Set<() => void>();
  #accountListeners = new Set<() => void>();
  #shown: ShownSession | null = null;
  /** The simulated watchers, for tests that drive them (`tick`, `goOffline`, `calls`…). */
  readonly sessions: MockSessions;

  constructor(options: MockOptions = {}) {
    this.#options = options;
    this.#accounts = new MockAccounts(options.accounts, options.defaultAccount);
    this.#accounts.keychainError = options.keychainError;
    this.#settings = new MockSettings(options.settings);
    this.#pairing = new MockPairing(this.#accounts);
    if (options.offeredPairing) this.#pairing.offer(options.offeredPairing);
    this.#startAtLogin = options.startAtLogin ?? false;
    this.sessions = new MockSessions(this.#accounts, options.sessions ?? [], () => ({
      speedMs: this.#options.sessionSpeedMs ?? MOCK_SESSION_SPEED_MS,
      launchFailWith: this.#options.launchFailWith,
      offlineAccount: this.#options.offlineAccount,
      now: this.#options.now ?? Date.now,
    }));
    this.sessions.seedEnded(options.endedSessions ?? []);
    const by = this.#settings.get().auto_extend.extend_by_minutes;
    for (const id of options.autoExtended ?? []) {
      const session = options.sessions?.find((s) => s.id === id);
      if (!session) continue;
      try {
        this.sessions.autoExtend(session.account_id, id, by);
      } catch {
        // Its account is unknown or cannot be reached: like an unknown id, nothing to seed.
      }
    }
  }

  /** Changes how later calls answer (e.g. to let a failing call recover). Accounts, settings and
   * starting at login are kept. */
  configure(options: MockOptions): void {
    this.#options = options;
    this.#accounts.keychainError = options.keychainError;
  }

  async appInfo(): Promise<AppInfo> {
    this.appInfoCalls += 1;
    const { appInfo = MOCK_APP_INFO, failWith, failTimes, failMessage } = this.#options;
    await this.#delay();
    if (failWith && (failTimes === undefined || this.appInfoCalls <= failTimes)) {
      throw new BackendError(failWith, failMessage ?? `mock failure: ${failWith}`);
    }
    return structuredClone(appInfo);
  }

  async listAccounts(): Promise<AccountView[]> {
    return this.#accountCall("listAccounts", undefined, () => {
      const code = this.#options.listAccountsFailWith;
      if (code) throw new BackendError(code, `mock failure: ${code}`);
      return this.#accounts.list();
    });
  }

  async addAccount(account: NewAccount): Promise<AccountView> {
    return this.#accountCall("addAccount", undefined, () => this.#accounts.add(account));
  }

  async setAccountKey(id: string, key: string): Promise<AccountView> {
    return this.#accountCall("setAccountKey", id, () => this.#accounts.setKey(id, key));
  }

  async editAccount(id: string, changes: AccountChanges): Promise<AccountView> {
    return this.#accountCall("editAccount", id, () => this.#accounts.edit(id, changes));
  }

  async removeAccount(id: string): Promise<void> {
    return this.#accountCall("removeAccount", id, () => this.#accounts.remove(id));
  }

  async testAccount(id: string): Promise<void> {
    return this.#accountCall("testAccount", id, () => this.#accounts.test(id));
  }

  async setDefaultAccount(id: string): Promise<AccountView> {
    return this.#accountCall("setDefaultAccount", id, () => this.#accounts.setDefault(id));
  }

  async pairAccount(name: string, pairing: string | null): Promise<AccountView> {
    const call = pairing === null ? "pairAccount offered" : "pairAccount";
    return this.#accountCall(call, undefined, () => this.#pairing.pair(name, pairing));
  }

  async readPairing(pairing: string): Promise<PairingOffered> {
    return this.#accountCall("readPairing", undefined, () => this.#pairing.read(pairing));
  }

  async offeredPairing(): Promise<PairingOffered | null> {
    await this.#delay();
    return this.#pairing.offered();
  }

  async dismissOfferedPairing(): Promise<void> {
    return this.#accountCall("dismissOfferedPairing", undefined, () => this.#pairing.dismiss());
  }

  /** As a `porthole://pair` link does: its pairing waits, and the window is told (a link that
   * is no pairing string throws, and offers nothing). */
  offerPairing(link: string): void {
    this.#pairing.offer(link);
  }

  onPairingOffered(listener: (offer: PairingOffered) => void): () => void {
    return this.#pairing.subscribe(listener);
  }

  async listSessions(accountId: string | null): Promise<Session[]> {
    await this.#delay();
    const { listDelayMs = 0 } = this.#options;
    if (listDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, listDelayMs));
    const sessions = this.sessions.list(accountId);
    // The render benchmark (ui/bench) times from here to the list's next paint.
    performance.clearMarks?.(MOCK_LISTED_MARK);
    performance.mark?.(MOCK_LISTED_MARK);
    return sessions;
  }

  async endedSessions(): Promise<EndedSession[]> {
    await this.#delay();
    return this.sessions.ended();
  }

  async dismissEnded(accountId: string, sessionId: string): Promise<void> {
    await this.#delay();
    this.sessions.dismissEnded(accountId, sessionId);
  }

  async clearEnded(): Promise<void> {
    await this.#delay();
    this.sessions.clearEnded();
  }

  async launchSession(accountId: string, request: LaunchRequest): Promise<Session> {
    await this.#delay();
    return this.sessions.launch(accountId, request);
  }

  async extendSession(accountId: string, sessionId: string, minutes: number): Promise<void> {
    await this.#delay();
    this.sessions.extend(accountId, sessionId, minutes);
  }

  async stopSession(accountId: string, sessionId: string): Promise<void> {
    await this.#delay();
    this.sessions.stop(accountId, sessionId);
  }

  async cancelSession(accountId: string, sessionId: string): Promise<void> {
    await this.#delay();
    this.sessions.cancel(accountId, sessionId);
  }

  async launchParameters(accountId: string, resource: string): Promise<Parameter[]> {
    await this.#delay();
    return this.sessions.parameters(accountId, resource);
  }

  async sessionPrompts(accountId: string, sessionId: string): Promise<Prompt[]> {
    await this.#delay();
    return this.sessions.prompts(accountId, sessionId);
  }

  async accountDetails(id: string): Promise<Detail[]> {
    await this.#delay();
    return this.sessions.accountDetails(id);
  }

  async sessionJobs(accountId: string, sessionId: string): Promise<Job[]> {
    await this.#delay();
    return this.sessions.jobs(accountId, sessionId);
  }

  async respondToPrompt(
    accountId: string,
    sessionId: string,
    promptId: string,
    values: Record<string, string>,
  ): Promise<void> {
    await this.#delay();
    this.sessions.respond(accountId, sessionId, promptId, values);
  }

  async rejectPrompt(accountId: string, sessionId: string, promptId: string): Promise<void> {
    await this.#delay();
    this.sessions.reject(accountId, sessionId, promptId);
  }

  async providerDescriptors(): Promise<ProviderDescriptor[]> {
    await this.#delay();
    // In the Rust side's order (the Add account form's): the first one is the default.
    return PROVIDER_KINDS.map((kind) => PROVIDERS[kind]);
  }

  async listMachines(accountId: string): Promise<Machine[]> {
    await this.#delay();
    return this.sessions.machines(accountId);
  }

  async listResources(accountId: string): Promise<Resource[]> {
    await this.#delay();
    return this.sessions.resources(accountId);
  }

  async followLogs(
    accountId: string,
    sessionId: string,
    onLine: (line: LogLine) => void,
  ): Promise<void> {
    await this.#delay();
    await this.sessions.follow(accountId, sessionId, onLine);
  }

  async refreshSessions(): Promise<void> {
    this.sessions.refresh();
  }

  async openSession(accountId: string, sessionId: string): Promise<void> {
    await this.#delay();
    const session = this.sessions.list(accountId).find((s) => s.id === sessionId);
    // As the app does: a live session without a web page is shown in the main window.
    if (session && !session.capabilities.has_ui && session.state.state !== "ended") {
      this.showFromOutside({ accountId, sessionId, relaunch: false });
      return;
    }
    this.sessions.open(accountId, sessionId);
  }

  async prepareSessionWindow(accountId: string, sessionId: string): Promise<void> {
    this.sessions.calls.push(`prepare ${accountId} ${sessionId}`);
  }

  async releaseSessionWindow(sessionId: string): Promise<void> {
    this.sessions.calls.push(`release ${sessionId}`);
  }

  /** As the app asks the main window to show a session (the tray, a link, Relaunch in an ended
   * session's window). */
  showFromOutside(shown: ShownSession): void {
    this.#shown = shown;
    for (const listener of this.#showListeners) listener();
  }

  onShowSession(listener: () => void): () => void {
    this.#showListeners.add(listener);
    return () => this.#showListeners.delete(listener);
  }

  onAccountsChanged(listener: () => void): () => void {
    this.#accountListeners.add(listener);
    return () => this.#accountListeners.delete(listener);
  }

  /** Tests: an account added outside the window (as the CLI would), then the app's nudge. */
  async addAccountElsewhere(account: NewAccount): Promise<void> {
    await this.addAccount(account);
    for (const listener of this.#accountListeners) listener();
  }

  async takeShownSession(): Promise<ShownSession | null> {
    const shown = this.#shown;
    this.#shown = null;
    return shown;
  }

  onSessionEvent(listener: (event: WatchEvent) => void): () => void {
    return this.sessions.subscribe(listener);
  }

  async sessionHistory(accountId: string, sessionId: string): Promise<HistoryEntry[]> {
    await this.#delay();
    const code = this.#options.historyFailWith;
    if (code) throw new BackendError(code, `mock failure: ${code}`);
    return this.sessions.history(accountId, sessionId);
  }

  async getSettings(): Promise<AlertSettings> {
    this.settingsCalls.get += 1;
    await this.#delay();
    const code = this.#options.getSettingsFailWith;
    if (code) throw new BackendError(code, `mock failure: ${code}`);
    return this.#settings.get();
  }

  async saveSettings(settings: AlertSettings): Promise<void> {
    this.settingsCalls.save += 1;
    await this.#delay();
    const code = this.#options.saveSettingsFailWith;
    if (code) {
      this.#settings.check(settings);
      throw new BackendError(code, `mock failure: ${code}`);
    }
    this.#settings.save(settings);
  }

  async getStartAtLogin(): Promise<boolean> {
    await this.#delay();
    const code = this.#options.getStartAtLoginFailWith;
    if (code) throw new BackendError(code, `${MOCK_START_AT_LOGIN_READ_PREFIX}mock failure: ${code}`);
    return this.#startAtLogin;
  }

  async setStartAtLogin(enabled: boolean): Promise<void> {
    this.startAtLoginCalls.push(enabled);
    await this.#delay();
    const code = this.#options.setStartAtLoginFailWith;
    if (code) throw new BackendError(code, `${MOCK_START_AT_LOGIN_PREFIX}mock failure: ${code}`);
    this.#startAtLogin = enabled;
  }

  async quit(keepLocalSessions: boolean): Promise<void> {
    this.quitCalls.push(keepLocalSessions);
    performance.mark?.(MOCK_QUIT_MARK, { detail: { keepLocalSessions } });
  }

  async #accountCall<T>(method: string, id: string | undefined, run: () => T): Promise<T> {
    this.accountCalls.push(id === undefined ? method : `${method} ${id}`);
    await this.#delay();
    return run();
  }

  async #delay(): Promise<void> {
    const { delayMs = 0 } = this.#options;
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}

/**
 * Mock options from the web build's query string, so Playwright can ask for a given state:
 * `mock-fail=<code>`, `mock-fail-times=<n>`, `mock-delay=<ms>`, `mock-keychain=<code>` (the
 * keychain is unusable: app info says so and non-local keys show `keychain_unavailable`),
 * `mock-accounts=demo` (start with `MOCK_DEMO_ACCOUNTS`), `mock-accounts-fail=<code>`,
 * `mock-sessions=demo` (sessions in several states on Local and "Studio GPUs", whose account it
 * adds), `mock-sessions=<n>` (n ready sessions on Local, 1…100000, for the render benchmark),
 * `mock-ended=demo` (two sessions ended in an earlier run, kept on Local and "Studio GPUs"),
 * `mock-list-delay=<ms>` (`listSessions` only), `mock-launch-fail=<code>`, `mock-offline=1` (the second account, or Local, is offline; or
 * `mock-offline=<account id>`), `mock-speed=<ms>` (each step of a launch or a stop),
 * `mock-settings-fail=<code>` (`getSettings`), `mock-save-settings-fail=<code>` (`saveSettings`),
 * `mock-auto-extended=<session id>[,<session id>…]` (those of the starting sessions were
 * auto-extended once, e.g. `demo-shell`), `mock-history-fail=<code>` (`sessionHistory`),
 * `mock-start-at-login=1` (Porthole starts at login from the start),
 * `mock-start-at-login-fail=<code>` (`getStartAtLogin`),
 * `mock-set-start-at-login-fail=<code>` (`setStartAtLogin`), `mock-pairing-offered=1` (a
 * `porthole://pair` link offered a pairing with `MOCK_PAIRING_BASE_URL` as the app started).
 */
export function mockOptionsFromQuery(search: string): MockOptions {
  const params = new URLSearchParams(search);
  const options: MockOptions = {};
  const fail = params.get("mock-fail");
  if (isErrorCode(fail)) options.failWith = fail;
  const times = Number(params.get("mock-fail-times"));
  if (params.has("mock-fail-times") && Number.isInteger(times) && times >= 0) {
    options.failTimes = times;
  }
  const delay = Number(params.get("mock-delay"));
  if (Number.isFinite(delay) && delay > 0) options.delayMs = delay;
  const keychain = params.get("mock-keychain");
  if (isErrorCode(keychain)) {
    options.appInfo = {
      ...MOCK_APP_INFO,
      keychain: { usable: false, error: { code: keychain, message: MOCK_KEYCHAIN_MESSAGE } },
    };
    options.keychainError = MOCK_KEYCHAIN_MESSAGE;
  }
  if (params.get("mock-accounts") === "demo") options.accounts = MOCK_DEMO_ACCOUNTS;
  const accountsFail = params.get("mock-accounts-fail");
  if (isErrorCode(accountsFail)) options.listAccountsFailWith = accountsFail;
  if (params.get("mock-sessions") === "demo") {
    options.sessions = demoSessions(Date.now());
    options.accounts ??= MOCK_DEMO_ACCOUNTS;
  }
  const many = Number(params.get("mock-sessions"));
  if (Number.isInteger(many) && many > 0 && many <= 100_000) {
    options.sessions = manySessions(many, Date.now());
  }
  if (params.get("mock-ended") === "demo") {
    options.endedSessions = demoEndedSessions(Date.now());
    options.accounts ??= MOCK_DEMO_ACCOUNTS;
  }
  const listDelay = Number(params.get("mock-list-delay"));
  if (Number.isFinite(listDelay) && listDelay > 0) options.listDelayMs = listDelay;
  const launchFail = params.get("mock-launch-fail");
  if (isErrorCode(launchFail)) options.launchFailWith = launchFail;
  const offline = params.get("mock-offline");
  if (offline === "1") {
    options.offlineAccount = options.accounts?.some((s) => s.account.id === "studio-gpus")
      ? "studio-gpus"
      : "local";
  } else if (offline) options.offlineAccount = offline;
  const speed = Number(params.get("mock-speed"));
  if (params.has("mock-speed") && Number.isFinite(speed) && speed >= 0) {
    options.sessionSpeedMs = speed;
  }
  const settingsFail = params.get("mock-settings-fail");
  if (isErrorCode(settingsFail)) options.getSettingsFailWith = settingsFail;
  const saveFail = params.get("mock-save-settings-fail");
  if (isErrorCode(saveFail)) options.saveSettingsFailWith = saveFail;
  const autoExtended = params.get("mock-auto-extended");
  if (autoExtended) options.autoExtended = autoExtended.split(",").filter((id) => id !== "");
  const historyFail = params.get("mock-history-fail");
  if (isErrorCode(historyFail)) options.historyFailWith = historyFail;
  if (params.get("mock-start-at-login") === "1") options.startAtLogin = true;
  const startFail = params.get("mock-start-at-login-fail");
  if (isErrorCode(startFail)) options.getStartAtLoginFailWith = startFail;
  const setStartFail = params.get("mock-set-start-at-login-fail");
  if (isErrorCode(setStartFail)) options.setStartAtLoginFailWith = setStartFail;
  if (params.get("mock-pairing-offered") === "1") {
    options.offeredPairing = `porthole://pair?code=${mockPairingString()}`;
  }
  return options;
}
