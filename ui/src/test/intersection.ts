/** A stand-in IntersectionObserver for jsdom (which has none), driven by hand. */
export class FakeObserver {
  static last: FakeObserver | undefined;
  observed = new Set<Element>();
  constructor(
    readonly callback: (entries: { target: Element; isIntersecting: boolean }[]) => void,
    readonly options: { rootMargin?: string },
  ) {
    FakeObserver.last = this;
  }
  observe(element: Element) {
    this.observed.add(element);
  }
  unobserve(element: Element) {
    this.observed.delete(element);
  }
  fire(target: Element, isIntersecting: boolean) {
    this.callback([{ target, isIntersecting }]);
  }
}
