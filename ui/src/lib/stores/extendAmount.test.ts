import { describe, expect, it } from "vitest";
import { ExtendAmount, usualStep } from "./extendAmount.svelte";

function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (index) => [...items.keys()][index] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, value),
  };
}

describe("the usual extension", () => {
  it("is the remembered amount when the provider offers it, else 15 min, else the closest step below, else the first", () => {
    expect(usualStep([5, 15, 30, 60], null)).toBe(15);
    expect(usualStep([5, 15, 30, 60], 30)).toBe(30);
    expect(usualStep([5, 15, 30, 60], 45)).toBe(15);
    expect(usualStep([5, 10, 60], 30)).toBe(10);
    expect(usualStep([5, 10, 60], null)).toBe(10);
    expect(usualStep([30, 60], null)).toBe(30);
    expect(usualStep([], 15)).toBeNull();
  });

  it("remembers the last amount extended by, for the whole app, across restarts", () => {
    const storage = memoryStorage();
    const first = new ExtendAmount(storage);
    expect(first.minutes).toBeNull();
    first.remember(30);
    expect(first.minutes).toBe(30);
    expect(new ExtendAmount(storage).minutes).toBe(30);
    storage.setItem("porthole.extend.minutes", "garbage");
    expect(new ExtendAmount(storage).minutes).toBeNull();
  });
});
