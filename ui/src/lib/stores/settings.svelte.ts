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
