import { type AlertSettings, type Backend, type BackendError, toBackendError } from "../backend";

export type SettingsState =
  | { status: "loading" }
  | { status: "ready"; saved: AlertSettings }
  | { status: "error"; error: BackendError };

/** The saved alert settings, loaded from the backend, and saving new ones. */
export class SettingsStore {
  state: SettingsState = $state({ status: "loading" });
  #backend: Backend;
  #generation = 0;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads (or reloads) the saved settings; only the latest call's answer is kept. */
  async load(): Promise<void> {
    const generation = ++this.#generation;
    this.state = { status: "loading" };
    let next: SettingsState;
    try {
      next = { status: "ready", saved: await this.#backend.getSettings() };
    } catch (error) {
      next = { status: "error", error: toBackendError(error) };
    }
    if (generation === this.#generation) this.state = next;
  }

  /** Saves `settings`; throws the backend's reason as a `BackendError`, the saved ones kept. */
  async save(settings: AlertSettings): Promise<void> {
    // A plain copy: the form's values may be reactive proxies, which cannot be cloned or sent.
    const copy = $state.snapshot(settings);
    try {
      await this.#backend.saveSettings(copy);
    } catch (error) {
      throw toBackendError(error);
    }
    this.state = { status: "ready", saved: copy };
  }
}

export type StartAtLoginState =
  | { status: "loading" }
  | { status: "ready"; enabled: boolean }
  | { status: "error"; error: BackendError };

/**
 * Whether Porthole starts when the user logs in. Apart from the alert settings: it is read on its
 * own (a failure here leaves them usable) and a change applies at once, with no Save.
 */
export class StartAtLoginStore {
  state: StartAtLoginState = $state({ status: "loading" });
  /** A change is in flight; another one is refused until it answers. */
  changing = $state(false);
  /** Why the last change failed (the value went back to what it was), or null. */
  changeError: BackendError | null = $state(null);
  /** What the last change that went through set, or null (none yet, or one in flight). */
  changed: boolean | null = $state(null);
  #backend: Backend;
  #generation = 0;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Reads (or reads again) whether it is on; only the latest call's answer is kept. */
  async load(): Promise<void> {
    const generation = ++this.#generation;
    this.state = { status: "loading" };
    this.changeError = null;
    this.changed = null;
    let next: StartAtLoginState;
    try {
      next = { status: "ready", enabled: await this.#backend.getStartAtLogin() };
    } catch (error) {
      next = { status: "error", error: toBackendError(error) };
    }
    if (generation === this.#generation) this.state = next;
  }

  /** Turns it on or off at once: shown as asked while in flight, back as it was if that fails. */
  async set(enabled: boolean): Promise<void> {
    if (this.state.status !== "ready" || this.changing) return;
    const generation = this.#generation;
    const previous = this.state.enabled;
    this.state = { status: "ready", enabled };
    this.changing = true;
    this.changeError = null;
    this.changed = null;
    try {
      await this.#backend.setStartAtLogin(enabled);
      if (generation === this.#generation) this.changed = enabled;
    } catch (error) {
      if (generation === this.#generation) {
        this.state = { status: "ready", enabled: previous };
        this.changeError = toBackendError(error);
      }
    } finally {
      this.changing = false;
    }
  }
}
