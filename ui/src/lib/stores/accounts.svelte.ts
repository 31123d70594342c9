import { type AccountView, type NewAccount, toBackendError } from "../backend";
import { type Loadable, LoadableStore } from "./loadable.svelte";

/**
 * The accounts, loaded from the backend, and the operations on them. Every operation throws a
 * `BackendError` for its caller to show. Keys pass through as arguments and are never kept.
 */
export class AccountStore extends LoadableStore<AccountView[]> {
  /** Loads (or reloads) the list; only the latest call's answer is kept. `quiet` keeps the
   * current list on screen while it reloads. */
  load({ quiet = false }: { quiet?: boolean } = {}): Promise<Loadable<AccountView[]>> {
    return this.loadLatest(() => this.backend.listAccounts(), { quiet });
  }

  /** Reads the list again, quietly, each time the accounts change outside the window (the
   * CLI); returns the unsubscribe. */
  follow(): () => void {
    return this.backend.onAccountsChanged(() => void this.load({ quiet: true }));
  }

  /** Adds an account (the backend checks its key first) and lists it. */
  async add(account: NewAccount): Promise<AccountView> {
    return this.#replace(await this.#run(() => this.backend.addAccount(account)));
  }

  /** Adds the portholed a pairing string names (the one a link offered, when `pairing` is null)
   * and lists it. */
  async pair(name: string, pairing: string | null): Promise<AccountView> {
    return this.#replace(await this.#run(() => this.backend.pairAccount(name, pairing)));
  }

  async setKey(id: string, key: string): Promise<AccountView> {
    return this.#replace(await this.#run(() => this.backend.setAccountKey(id, key)));
  }

  async rename(id: string, name: string): Promise<AccountView> {
    return this.#replace(await this.#run(() => this.backend.editAccount(id, { name })));
  }

  async makeDefault(id: string): Promise<AccountView> {
    const view = await this.#run(() => this.backend.setDefaultAccount(id));
    if (this.state.status === "ready") {
      this.state.value = this.state.value.map((v) => ({ ...v, is_default: false }));
    }
    return this.#replace(view);
  }

  /** Removes an account and its key, then reloads: the default may have moved to Local, and a
   * failure may come after part of the work was done. */
  async remove(id: string): Promise<void> {
    try {
      await this.#run(() => this.backend.removeAccount(id));
    } finally {
      await this.load({ quiet: true });
    }
  }

  /** Tries the account's stored key against its provider. */
  async test(id: string): Promise<void> {
    await this.#run(() => this.backend.testAccount(id));
  }

  async #run<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toBackendError(error);
    }
  }

  /** Puts `view` in place of the account with its id, or at the end when it is new. */
  #replace(view: AccountView): AccountView {
    if (this.state.status !== "ready") {
      void this.load();
      return view;
    }
    const accounts = this.state.value;
    const known = accounts.some((v) => v.account.id === view.account.id);
    this.state.value = known
      ? accounts.map((v) => (v.account.id === view.account.id ? view : v))
      : [...accounts, view];
    return view;
  }
}
