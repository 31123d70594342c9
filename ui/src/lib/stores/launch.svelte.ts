import {
  type Backend,
  type BackendError,
  type EndReason,
  type LaunchRequest,
  type LogLine,
  type Machine,
  type Resource,
  toBackendError,
} from "../backend";
import { saveLaunchDefaults } from "../launchDefaults";
import { lastLines } from "./lastLines.svelte";
import { type Loadable, LoadableStore } from "./loadable.svelte";
import type { SessionStore } from "./sessions.svelte";

/** Where a launch from the dialog is. */
export type LaunchPhase =
  /** Not launched, or back after a failure (`LaunchFlow.error` says why). */
  | { step: "form" }
  /** The launch call is in flight. */
  | { step: "launching" }
  /** Launched: waiting for the watcher to say it answers. */
  | { step: "starting"; accountId: string; sessionId: string }
  | { step: "opening"; accountId: string; sessionId: string }
  /** Open in its window (or ready, when it has no page): the dialog can go. */
  | { step: "done" }
  /** It ended before it answered. */
  | { step: "ended"; reason: EndReason }
  /** It is ready but its window could not be opened. */
  | { step: "open-failed"; error: BackendError };

/**
 * One launch from the dialog: launch, stream the start-up log, wait for the `ready` event, open.
 * `cancel()` (Escape) lets the session go on launching in the background, unwatched.
 */
export class LaunchFlow {
  phase: LaunchPhase = $state({ step: "form" });
  /** Why the last launch call failed; shown on the form, whose fields are kept. */
  error: BackendError | null = $state(null);
  logs: LogLine[] = $state([]);
  /** Why the log cannot be followed, when it cannot. */
  logError: BackendError | null = $state(null);
  /** The session this flow launched, once it has. */
  launched: { accountId: string; sessionId: string } | null = $state(null);
  #backend: Backend;
  #store: SessionStore;
  #cancelled = false;
  /** The call that made the session's window ahead, until that window is opened or let go. */
  #prepared: Promise<void> | null = null;
  #hasLogs: (accountId: string) => boolean;

  /** `hasLogs`: whether the account's provider keeps a log to follow (its descriptor says). */
  constructor(backend: Backend, store: SessionStore, hasLogs: (accountId: string) => boolean = () => true) {
    this.#backend = backend;
    this.#store = store;
    this.#hasLogs = hasLogs;
  }

  get busy(): boolean {
    return this.phase.step !== "form";
  }

  async launch(accountId: string, request: LaunchRequest): Promise<void> {
    if (this.phase.step === "launching") return;
    this.#cancelled = false;
    this.error = null;
    this.logError = null;
    this.logs = [];
    this.launched = null;
    this.phase = { step: "launching" };
    let sessionId: string;
    let hasUi: boolean;
    try {
      const session = await this.#backend.launchSession(accountId, request);
      sessionId = session.id;
      hasUi = session.capabilities.has_ui;
      this.launched = { accountId, sessionId };
      this.#store.launched(accountId, session, request);
      saveLaunchDefaults(accountId, request);
    } catch (error) {
      if (this.#cancelled) return;
      this.error = toBackendError(error);
      this.phase = { step: "form" };
      return;
    }
    if (this.#cancelled) return;
    this.phase = { step: "starting", accountId, sessionId };
    if (hasUi) this.#prepare(accountId, sessionId);
    if (this.#hasLogs(accountId)) {
      this.#backend
        .followLogs(accountId, sessionId, (line) => {
          lastLines.note(accountId, sessionId, line);
          if (!this.#cancelled) this.logs.push(line);
        })
        .catch((error: unknown) => {
          if (!this.#cancelled) this.logError = toBackendError(error);
        });
    }
    const outcome = await this.#store.outcome(accountId, sessionId);
    if (this.#cancelled) return;
    if (outcome.kind === "ended") {
      // The app closed the window made ahead with the session.
      this.#prepared = null;
      this.phase = { step: "ended", reason: outcome.reason };
      return;
    }
    if (!outcome.session.capabilities.has_ui) {
      this.phase = { step: "done" };
      return;
    }
    this.phase = { step: "opening", accountId, sessionId };
    try {
      await this.#prepared;
      await this.#backend.openSession(accountId, sessionId);
      // The window made ahead is the one opened: nothing is left to let go.
      this.#prepared = null;
      if (!this.#cancelled) this.phase = { step: "done" };
    } catch (error) {
      if (!this.#cancelled) this.phase = { step: "open-failed", error: toBackendError(error) };
    }
  }

  /** Back to the form (after an end or a failure to open), with its fields as they were. */
  back(): void {
    this.phase = { step: "form" };
  }

  /** Stops watching: no more log lines, no opening (a window made ahead is closed). The launch
   * itself goes on. */
  cancel(): void {
    this.#cancelled = true;
    const prepared = this.#prepared;
    this.#prepared = null;
    const launched = this.launched;
    if (prepared && launched) {
      void prepared.then(() => this.#backend.releaseSessionWindow(launched.sessionId)).catch(() => {});
    }
  }

  /** Asks for the session's window ahead (hidden), so that it shows at once when the session is
   * ready; a failure only means it opens the usual way then. */
  #prepare(accountId: string, sessionId: string): void {
    this.#prepared = this.#backend.prepareSessionWindow(accountId, sessionId).catch(() => {});
  }
}

/** What an account offers to launch on. */
export interface LaunchOffer {
  machines: Machine[];
  resources: Resource[];
}

/** An account's machines and resources, for the launch form. */
export class LaunchOptions extends LoadableStore<LaunchOffer> {
  /** Loads `accountId`'s offer; only the latest call's answer is kept. Resolves to it. */
  load(accountId: string): Promise<Loadable<LaunchOffer>> {
    return this.loadLatest(async () => {
      const [machines, resources] = await Promise.all([
        this.backend.listMachines(accountId),
        this.backend.listResources(accountId),
      ]);
      return { machines, resources };
    });
  }

  /** Reads the account's resources again (availability and queues move while the form is
   * open), keeping the machines; a failure keeps what is shown, and an answer that comes after
   * another account was chosen is dropped. */
  async refreshResources(accountId: string): Promise<void> {
    const generation = this.generation;
    let resources: Resource[];
    try {
      resources = await this.backend.listResources(accountId);
    } catch {
      return;
    }
    if (generation !== this.generation || this.state.status !== "ready") return;
    this.state = { status: "ready", value: { ...this.state.value, resources } };
  }
}
