import { type AppInfo, type Backend, type BackendError, toBackendError } from "../backend";

export type AppInfoState =
  | { status: "loading" }
  | { status: "ready"; info: AppInfo }
  | { status: "error"; error: BackendError };

/** The app's own description (version, folders, keychain), loaded from the backend. */
export class AppInfoStore {
  state: AppInfoState = $state({ status: "loading" });
  #backend: Backend;
  #generation = 0;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Loads (or reloads) the info; only the latest call's answer is kept. */
  async load(): Promise<void> {
    const generation = ++this.#generation;
    this.state = { status: "loading" };
    let next: AppInfoState;
    try {
      next = { status: "ready", info: await this.#backend.appInfo() };
    } catch (error) {
      next = { status: "error", error: toBackendError(error) };
    }
    if (generation === this.#generation) this.state = next;
  }
}
