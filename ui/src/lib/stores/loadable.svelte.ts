import { type Backend, type BackendError, toBackendError } from "../backend";

/** Something read from the backend: still loading, there, or why it could not be read. */
export type Loadable<T> =
  | { status: "loading" }
  | { status: "ready"; value: T }
  | { status: "error"; error: BackendError };

/**
 * A store of one thing read from the backend, read again on demand. Only the latest read's answer
 * is kept: an earlier one that answers late is dropped.
 */
export class LoadableStore<T> {
  state: Loadable<T> = $state({ status: "loading" });
  protected readonly backend: Backend;
  #generation = 0;

  constructor(backend: Backend) {
    this.backend = backend;
  }

  /** How many reads have started: work begun before a later read is stale once this moves on. */
  protected get generation(): number {
    return this.#generation;
  }

  /**
   * Reads with `read` and keeps its answer if no later read started meanwhile. `quiet` keeps the
   * current value on screen while it reads. Resolves to this read's answer, kept or not.
   */
  protected async loadLatest(
    read: () => Promise<T>,
    { quiet = false }: { quiet?: boolean } = {},
  ): Promise<Loadable<T>> {
    const generation = ++this.#generation;
    if (!quiet || this.state.status !== "ready") this.state = { status: "loading" };
    let next: Loadable<T>;
    try {
      next = { status: "ready", value: await read() };
    } catch (error) {
      next = { status: "error", error: toBackendError(error) };
    }
    if (generation === this.#generation) this.state = next;
    return next;
  }

  /** Writes `value` with `write`, then shows it; throws a failure as a `BackendError`, what was
   * shown kept. */
  protected async saveWith(value: T, write: (value: T) => Promise<void>): Promise<void> {
    try {
      await write(value);
    } catch (error) {
      throw toBackendError(error);
    }
    this.state = { status: "ready", value };
  }
}
