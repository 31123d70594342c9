import type { Backend, PairingOffered } from "../backend";

/**
 * The pairing a `porthole://pair` link offers, while it waits for the person to name the account
 * and confirm, or to close the form. App-wide: a link may come while another screen is shown, or
 * start the app before the page is up. Its token stays in the backend: this holds only where it
 * leads.
 */
export class PairingOfferStore {
  /** What waits (null: nothing). */
  offer: PairingOffered | null = $state(null);
  readonly #backend: Backend;

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Reads what waits from before the page was up, then follows what links offer; calls
   * `onoffer` each time a pairing is offered. Returns the unsubscribe. */
  follow(onoffer: () => void): () => void {
    let stopped = false;
    const offered = (offer: PairingOffered) => {
      if (stopped) return;
      this.offer = offer;
      onoffer();
    };
    const unsubscribe = this.#backend.onPairingOffered(offered);
    this.#backend.offeredPairing().then(
      (offer) => offer && offered(offer),
      (error: unknown) => console.error("cannot read the offered pairing", error),
    );
    return () => {
      stopped = true;
      unsubscribe();
    };
  }

  /** The person closed the form: the backend forgets the pairing too. */
  dismiss(): void {
    this.offer = null;
    this.#backend
      .dismissOfferedPairing()
      .catch((error: unknown) => console.error("cannot dismiss the offered pairing", error));
  }

  /** An account was added with it: the backend forgot it already. */
  paired(): void {
    this.offer = null;
  }
}
