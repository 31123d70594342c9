// The mock's sessions: an in-memory stand-in for the providers and the Rust watchers. As a
// provider it launches (starting → connecting → ready with a start-up log), stops (stopping →
// ended), extends, asks and takes answers. What the watchers decide about clocks (warnings,
// "ending soon", the end they cause) it replays from the Rust tracker's recording (mock-replay.ts,
// at the default thresholds: saved thresholds do not change it). Every change is told as a
// `WatchEvent`; what the app did (launch, extend, stop) is kept as the session's history, and an
// ended session is kept (as the Rust side keeps it on disk) until it is dismissed or cleared.
import type { MockAccounts } from "./mock-accounts";
import { ClockReplay } from "./mock-replay";
import { CONNECTING_AFTER_LINE, offerFor, startupLog } from "./mock-sessions-data";
import {
  type Account,
  BackendError,
  type EndReason,
  type ErrorCode,
  type HistoryEntry,
  type Detail,
  type EndedSession,
  type HistoryKind,
  type Job,
  type LaunchRequest,
  type LogLine,
  type Machine,
  type Parameter,
  type Problem,
  type Prompt,
  type Resource,
  type Session,
  type SessionState,
  type WatchEvent,
} from "./types";
import { PROVIDERS } from "./providers";
import { UP_STATES } from "./vocabulary";

/** How the simulated watchers behave; read on every use, so `configure` applies at once. */
export interface MockSessionSettings {
  /** How long each step of a launch or a stop takes, in milliseconds. */
  speedMs: number;
  /** Make `launch` fail with this code. */
  launchFailWith?: ErrorCode;
  /** An account reported offline as soon as someone listens. */
  offlineAccount?: string;
  now: () => number;
}

const LOCAL_LIFETIME = PROVIDERS.portholed.lifetime;

/** The longest a session may run from now, in minutes (portholed's and ComfyDeploy's 24 h). */
export const MOCK_MAX_MINUTES = LOCAL_LIFETIME.max_minutes ?? Number.POSITIVE_INFINITY;

/** At most this many history entries per session, the oldest going first (porthole-core's). */
export const MOCK_HISTORY_PER_SESSION = 100;

interface Tracked {
  session: Session;
  log: LogLine[];
  logDone: boolean;
  followers: Set<() => void>;
  replay: ClockReplay;
}

type Listener = (event: WatchEvent) => void;

function invalid(message: string): BackendError {
  return new BackendError("invalid_input", message);
}

export class MockSessions {
  /** The session calls made, as `method account [session] [arg]`, oldest first. */
  readonly calls: string[] = [];
  #accounts: MockAccounts;
  #settings: () => MockSessionSettings;
  #tracked = new Map<string, Tracked>();
  /** By `account/session`; kept after the session ended, as the Rust side keeps it. */
  #history = new Map<string, HistoryEntry[]>();
  /** Seeded by tests: launch parameters by `account/resource`, the prompt a session waits on. */
  #parameters = new Map<string, Parameter[]>();
  #prompts = new Map<string, Prompt>();
  /** Seeded by tests: a session's jobs, newest first. */
  #jobs = new Map<string, Job[]>();
  /** Seeded by tests: what an account's provider tells about it. */
  #accountDetails = new Map<string, Detail[]>();
  /** By `account/session`, with when each ended. */
  #ended = new Map<string, EndedSession>();
  #listeners = new Set<Listener>();
  /** Why each account cannot be reached, and when its sessions were last read (RFC 3339). */
  #offline = new Map<string, { error: Problem; confirmedAt: string | null }>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #counter = 0;

  constructor(accounts: MockAccounts, seeds: Session[], settings: () => MockSessionSettings) {
    this.#accounts = accounts;
    this.#settings = settings;
    for (const session of seeds) {
      const tracked = this.#track(structuredClone(session));
      tracked.logDone = true;
      // Known already: what is due has been told (as the app's watchers had told it).
      tracked.replay.advance(tracked.session, this.#settings().now());
      this.#show(tracked);
    }
  }

  /** The ended sessions kept, oldest end first. */
  ended(): EndedSession[] {
    return structuredClone([...this.#ended.values()]);
  }

  /** For tests: sessions that ended before the app started (kept from an earlier run). */
  seedEnded(ended: EndedSession[]): void {
    for (const e of ended) this.#ended.set(`${e.session.account_id}/${e.session.id}`, structuredClone(e));
  }

  dismissEnded(accountId: string, sessionId: string): void {
    this.calls.push(`dismiss-ended ${accountId} ${sessionId}`);
    this.#ended.delete(`${accountId}/${sessionId}`);
  }

  clearEnded(): void {
    this.calls.push("clear-ended");
    this.#ended.clear();
  }

  list(accountId: string | null): Session[] {
    return [...this.#tracked.values()]
      .map((t) => t.session)
      .filter((s) => accountId === null || s.account_id === accountId)
      .map((s) => structuredClone(s));
  }

  machines(accountId: string): Machine[] {
    return structuredClone(offerFor(this.#reachable(accountId)).machines);
  }

  resources(accountId: string): Resource[] {
    return structuredClone(offerFor(this.#reachable(accountId)).resources);
  }

  launch(accountId: string, request: LaunchRequest): Session {
    const { launchFailWith } = this.#settings();
    if (launchFailWith) throw new BackendError(launchFailWith, `mock launch failure: ${launchFailWith}`);
    const account = this.#reachable(accountId);
    const offer = offerFor(account);
    const machine = offer.machines.find((m) => m.id === request.machine_id);
    if (!machine) throw invalid(`There is no machine "${request.machine_id}" on ${account.name}.`);
    if (!machine.can_launch) {
      throw invalid(`${machine.name} cannot launch: ${machine.unavailable_reason ?? "unavailable"}.`);
    }
    const resourceId = request.resource ?? machine.default_resource;
    const resource = offer.resources.find((r) => r.id === resourceId);
    if (resourceId !== null && !resource) throw invalid(`There is no resource "${resourceId}".`);
    if (resource?.availability.status === "unavailable") {
      throw invalid(`${resource.label} is unavailable: ${resource.availability.reason}.`);
    }
    const minutes = request.timeout_minutes ?? LOCAL_LIFETIME.default_minutes ?? MOCK_MAX_MINUTES;
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > MOCK_MAX_MINUTES) {
      throw invalid(`A timeout is 1 to ${MOCK_MAX_MINUTES} minutes.`);
    }
    const now = this.#settings().now();
    const id = `s-${++this.#counter}`;
    const session: Session = {
      id,
      account_id: account.id,
      provider: account.provider,
      name: `${machine.name}-${this.#counter}`,
      machine_id: machine.id,
      machine_name: machine.name,
      resource: resourceId,
      state: { state: "starting" },
      status_label: null,
      before_end: null,
      created_at: new Date(now).toISOString(),
      deadline: new Date(now + minutes * 60_000).toISOString(),
      idle_deadline: null,
      unused_deadline: null,
      warning: null,
      price_per_hour: resource?.price_per_hour ?? null,
      capabilities: { can_extend: true, can_stop: true, has_ui: true, can_cancel: false },
      details: [],
    };
    this.#track(session);
    this.#record(account.id, id, { kind: "launched" });
    this.calls.push(`launch ${accountId} ${id}`);
    this.#later(0, () => this.#emit({ kind: "added", session }));
    this.#runStartup(session.id, startupLog(account, machine, resourceId));
    return structuredClone(session);
  }

  /** What this app did to the session, oldest first (empty for a session it never touched). */
  history(accountId: string, sessionId: string): HistoryEntry[] {
    return structuredClone(this.#history.get(`${accountId}/${sessionId}`) ?? []);
  }

  /** An extension auto-extend decided on (the window was in use and little time was left):
   * the deadline moves as with `extend`, and the history marks it automatic. */
  autoExtend(accountId: string, sessionId: string, minutes: number): void {
    this.extend(accountId, sessionId, minutes, true);
  }

  extend(accountId: string, sessionId: string, minutes: number, automatic = false): void {
    this.#reachable(accountId);
    const tracked = this.#get(accountId, sessionId);
    const { session } = tracked;
    if (!session.capabilities.can_extend || session.deadline === null) {
      throw invalid(`${session.name} cannot be extended.`);
    }
    if (!Number.isInteger(minutes) || minutes < 1) throw invalid("Extend by 1 minute or more.");
    const deadline = Date.parse(session.deadline) + minutes * 60_000;
    if (deadline - this.#settings().now() > MOCK_MAX_MINUTES * 60_000) {
      throw invalid(`A session can be extended to at most ${MOCK_MAX_MINUTES} minutes from now.`);
    }
    this.calls.push(`${automatic ? "auto-extend" : "extend"} ${accountId} ${sessionId} ${minutes}`);
    this.#record(accountId, sessionId, { kind: "extended", minutes, automatic });
    session.deadline = new Date(deadline).toISOString();
    tracked.replay.advance(session, this.#settings().now());
    this.#show(tracked);
    this.#emit({ kind: "updated", session });
  }

  stop(accountId: string, sessionId: string): void {
    this.#reachable(accountId);
    const tracked = this.#get(accountId, sessionId);
    const { session } = tracked;
    if (!session.capabilities.can_stop) throw invalid(`${session.name} cannot be stopped.`);
    this.calls.push(`stop ${accountId} ${sessionId}`);
    this.#record(accountId, sessionId, { kind: "stop_requested" });
    if (tracked.replay.base.state === "stopping") return;
    this.#report(tracked, { state: "stopping" });
    this.#later(this.#settings().speedMs, () => this.#end(session, { kind: "stopped" }, true));
  }

  /** Cancels a session that can be: it ends at once, cancelled. */
  cancel(accountId: string, sessionId: string): void {
    this.#reachable(accountId);
    const { session } = this.#get(accountId, sessionId);
    if (!session.capabilities.can_cancel) throw invalid(`${session.name} cannot be cancelled; stop it instead.`);
    this.calls.push(`cancel ${accountId} ${sessionId}`);
    this.#record(accountId, sessionId, { kind: "cancel_requested" });
    this.#end(session, { kind: "cancelled" }, true);
  }

  /** The launch parameters seeded for an account's resource (none unless a test seeds some). */
  parameters(accountId: string, resource: string): Parameter[] {
    this.#reachable(accountId);
    return this.#parameters.get(`${accountId}/${resource}`) ?? [];
  }

  /** For tests: what a launch on `resource` takes. */
  seedParameters(accountId: string, resource: string, parameters: Parameter[]): void {
    this.#parameters.set(`${accountId}/${resource}`, parameters);
  }

  /** For tests: the session asks `prompt` and waits for its answer. */
  ask(accountId: string, sessionId: string, prompt: Prompt): void {
    const tracked = this.#get(accountId, sessionId);
    this.#prompts.set(tracked.session.id, prompt);
    tracked.session.status_label = prompt.message;
    this.#report(tracked, { state: "waiting_for_input" });
  }

  /** For tests: the provider changes what it reports about the session. */
  edit(accountId: string, sessionId: string, change: (session: Session) => void): void {
    const tracked = this.#get(accountId, sessionId);
    change(tracked.session);
    this.#emit({ kind: "updated", session: tracked.session });
  }

  /** For tests: what the account's provider tells about it. */
  seedAccountDetails(accountId: string, details: Detail[]): void {
    this.#accountDetails.set(accountId, structuredClone(details));
  }

  accountDetails(accountId: string): Detail[] {
    this.#reachable(accountId);
    return structuredClone(this.#accountDetails.get(accountId) ?? []);
  }

  /** For tests: the session's jobs are now these (newest first). */
  seedJobs(accountId: string, sessionId: string, jobs: Job[]): void {
    this.#jobs.set(this.#get(accountId, sessionId).session.id, structuredClone(jobs));
  }

  jobs(accountId: string, sessionId: string): Job[] {
    this.#reachable(accountId);
    const { session } = this.#get(accountId, sessionId);
    if (!PROVIDERS[session.provider].actions.jobs && !this.#jobs.has(session.id)) {
      throw invalid(`${PROVIDERS[session.provider].label} sessions have no jobs.`);
    }
    return structuredClone(this.#jobs.get(session.id) ?? []);
  }

  /** For tests: the provider writes `message` to the session's log (`last`: and ends it). */
  say(accountId: string, sessionId: string, message: string, last = false): void {
    const tracked = this.#get(accountId, sessionId);
    tracked.logDone = false;
    this.#log(tracked, message, last);
  }

  prompts(accountId: string, sessionId: string): Prompt[] {
    this.#reachable(accountId);
    const prompt = this.#prompts.get(this.#get(accountId, sessionId).session.id);
    return prompt ? [prompt] : [];
  }

  /** Answers the session's prompt: required fields are checked, then it runs again. */
  respond(accountId: string, sessionId: string, promptId: string, values: Record<string, string>): void {
    this.#settlePrompt(accountId, sessionId, promptId, false, (prompt) => {
      const missing = prompt.parameters.filter((p) => p.required && !(values[p.name] ?? "").trim()).map((p) => p.label);
      if (missing.length > 0) throw invalid(`Required: ${missing.join(", ")}.`);
    });
  }

  /** Refuses the session's prompt, where it can be refused: it runs again, as after an answer. */
  reject(accountId: string, sessionId: string, promptId: string): void {
    this.#settlePrompt(accountId, sessionId, promptId, true, (prompt) => {
      if (!prompt.reject_label) throw invalid(`"${prompt.message}" cannot be refused, only answered.`);
    });
  }

  /** Answers or refuses (`rejected`) the prompt once `check` passed: it goes, and the session
   * runs again. */
  #settlePrompt(
    accountId: string,
    sessionId: string,
    promptId: string,
    rejected: boolean,
    check: (prompt: Prompt) => void,
  ): void {
    this.#reachable(accountId);
    const tracked = this.#get(accountId, sessionId);
    const { session } = tracked;
    const prompt = this.#prompts.get(session.id);
    if (!prompt || prompt.id !== promptId) throw invalid(`Session ${sessionId} is not waiting for an answer to "${promptId}".`);
    check(prompt);
    this.calls.push(`${rejected ? "reject" : "respond"} ${accountId} ${sessionId} ${promptId}`);
    this.#record(accountId, sessionId, { kind: "answered", prompt: promptId, rejected });
    this.#prompts.delete(session.id);
    session.status_label = null;
    this.#report(tracked, { state: "ready" });
  }

  open(accountId: string, sessionId: string): void {
    const { session } = this.#get(accountId, sessionId);
    if (!UP_STATES.includes(session.state.state)) {
      throw invalid(`${session.name} is not ready yet: it opens once its page answers.`);
    }
    this.calls.push(`open ${accountId} ${sessionId}`);
  }

  /** Replays the log so far, then streams it until it ends (ready, or the session ended). */
  async follow(accountId: string, sessionId: string, onLine: (line: LogLine) => void): Promise<void> {
    const tracked = this.#get(accountId, sessionId);
    let sent = 0;
    const flush = () => {
      while (sent < tracked.log.length) onLine(structuredClone(tracked.log[sent++]!));
    };
    flush();
    if (tracked.logDone) return;
    await new Promise<void>((resolve) => {
      const follower = () => {
        flush();
        if (!tracked.logDone) return;
        tracked.followers.delete(follower);
        resolve();
      };
      tracked.followers.add(follower);
    });
  }

  /** Re-tells what the watchers know of offline accounts (they keep retrying). */
  refresh(): void {
    this.calls.push("refresh");
    for (const account_id of this.#offline.keys()) this.#emit(this.#offlineEvent(account_id));
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#startTicker();
    const { offlineAccount } = this.#settings();
    if (offlineAccount && !this.#offline.has(offlineAccount)) {
      // Read once as the app started, then it stopped answering.
      const confirmedAt = new Date(this.#settings().now()).toISOString();
      this.#offline.set(offlineAccount, { error: this.#problemFor(offlineAccount), confirmedAt });
    }
    // A new listener learns at once which accounts cannot be reached, as the watchers retry.
    this.#later(0, () => {
      for (const account_id of this.#offline.keys()) {
        if (this.#listeners.has(listener)) listener(this.#offlineEvent(account_id));
      }
    });
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#stopTicker();
    };
  }

  /** Tells listeners that `accountId`'s provider cannot be reached (and keeps it so);
   * `confirmedAt`: when its sessions were last read (now when left out; `null`: never). */
  goOffline(accountId: string, error?: Problem, confirmedAt?: string | null): void {
    const at = confirmedAt === undefined ? new Date(this.#settings().now()).toISOString() : confirmedAt;
    this.#offline.set(accountId, { error: error ?? this.#problemFor(accountId), confirmedAt: at });
    this.#emit(this.#offlineEvent(accountId));
  }

  goOnline(accountId: string): void {
    if (this.#offline.delete(accountId)) this.#emit({ kind: "online", account_id: accountId });
  }

  /** Replays what the watchers decide about every clock now (the ticker does it every second
   * while someone listens): warnings, "ending soon", the end a clock causes. */
  tick(): void {
    const now = this.#settings().now();
    for (const tracked of [...this.#tracked.values()]) {
      const { session } = tracked;
      const news = tracked.replay.advance(session, now);
      if (news.ended) {
        this.#end(session, news.ended, false);
        continue;
      }
      if (!news.warning) continue;
      this.#emit({
        kind: "warning",
        account_id: session.account_id,
        session_id: session.id,
        name: session.name,
        ...news.warning,
      });
      if (this.#show(tracked)) this.#emit({ kind: "updated", session });
    }
  }

  /** Cancels every pending step. */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#stopTicker();
  }

  #runStartup(sessionId: string, lines: string[]): void {
    const { speedMs } = this.#settings();
    lines.forEach((message, index) => {
      this.#later(index * speedMs, () => {
        const tracked = this.#tracked.get(sessionId);
        if (!tracked || tracked.logDone) return;
        const last = index === lines.length - 1;
        this.#log(tracked, message, last);
        const base = tracked.replay.base.state;
        if (index + 1 === CONNECTING_AFTER_LINE && base === "starting") {
          this.#report(tracked, { state: "connecting" });
        } else if (last && base === "connecting") {
          this.#report(tracked, { state: "ready" }, "ready");
        }
      });
    });
  }

  #log(tracked: Tracked, message: string, last = false): void {
    const timestamp = new Date(this.#settings().now()).toISOString();
    tracked.log.push({ message, level: "info", timestamp });
    tracked.logDone ||= last;
    for (const follower of [...tracked.followers]) follower();
  }

  /** `requested`: the app asked for it (a stop or a cancel). */
  #end(session: Session, reason: EndReason, requested: boolean): void {
    const tracked = this.#tracked.get(session.id);
    if (!tracked) return;
    this.#tracked.delete(session.id);
    session.state = { state: "ended", reason };
    const ended_at = new Date(this.#settings().now()).toISOString();
    this.#ended.set(`${session.account_id}/${session.id}`, structuredClone({ session, ended_at }));
    if (!tracked.logDone) this.#log(tracked, "The session ended", true);
    this.#emit({
      kind: "ended",
      account_id: session.account_id,
      session_id: session.id,
      name: session.name,
      reason,
      requested,
      outcome: null,
    });
  }

  #track(session: Session): Tracked {
    const tracked: Tracked = {
      session,
      log: [],
      logDone: false,
      followers: new Set(),
      replay: new ClockReplay(session.state),
    };
    this.#tracked.set(session.id, tracked);
    return tracked;
  }

  #record(accountId: string, sessionId: string, kind: HistoryKind): void {
    const key = `${accountId}/${sessionId}`;
    const list = this.#history.get(key) ?? [];
    if (list.length >= MOCK_HISTORY_PER_SESSION) list.shift();
    list.push({ at: new Date(this.#settings().now()).toISOString(), ...kind });
    this.#history.set(key, list);
  }

  #get(accountId: string, sessionId: string): Tracked {
    const tracked = this.#tracked.get(sessionId);
    if (!tracked || tracked.session.account_id !== accountId) {
      throw new BackendError("session_gone", "This session has ended or is no longer known.");
    }
    return tracked;
  }

  /** The account, if it exists, has a working key and answers. */
  #reachable(accountId: string): Account {
    this.#accounts.test(accountId);
    const problem = this.#offline.get(accountId)?.error;
    if (problem) throw new BackendError(problem.code, problem.message);
    const view = this.#accounts.list().find((v) => v.account.id === accountId);
    if (!view) throw invalid(`There is no account "${accountId}".`);
    return view.account;
  }

  /** The provider now reports `state`: the session shows what the watchers make of it. */
  #report(tracked: Tracked, state: SessionState, kind: "updated" | "ready" = "updated"): void {
    tracked.replay.base = state;
    this.#show(tracked);
    this.#emit({ kind, session: tracked.session });
  }

  /** Sets the state and warning the replay shows now; whether they changed. */
  #show(tracked: Tracked): boolean {
    const { session } = tracked;
    const shown = tracked.replay.shown(session);
    const changed =
      JSON.stringify([session.state, session.warning]) !== JSON.stringify([shown.state, shown.warning]);
    session.state = shown.state;
    session.warning = shown.warning;
    return changed;
  }

  #emit(event: WatchEvent): void {
    for (const listener of [...this.#listeners]) listener(structuredClone(event));
  }

  #later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      run();
    }, ms);
    this.#timers.add(timer);
  }

  /** What the watchers tell about an offline account. */
  #offlineEvent(accountId: string): WatchEvent {
    const { error, confirmedAt } = this.#offline.get(accountId)!;
    return { kind: "offline", account_id: accountId, error, confirmed_at: confirmedAt };
  }

  #problemFor(accountId: string): Problem {
    const account = this.#accounts.list().find((v) => v.account.id === accountId)?.account;
    return {
      code: "upstream_unavailable",
      message: `Cannot reach ${account?.base_url ?? accountId}: connection refused.`,
    };
  }

  #startTicker(): void {
    const { speedMs } = this.#settings();
    this.#ticker = setInterval(() => this.tick(), Math.max(20, Math.min(1000, speedMs)));
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}
