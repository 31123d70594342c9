import { fireEvent, render, screen } from "@testing-library/svelte";
import { tick } from "svelte";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { PROVIDERS } from "../backend/providers";
import { extendAmount } from "../stores/extendAmount.svelte";
import ExtendMenu from "./ExtendMenu.svelte";

const STEPS = PROVIDERS.comfy_deploy.extend_steps;
const inMinutes = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

describe("ExtendMenu", () => {
  beforeEach(() => {
    extendAmount.minutes = null;
  });

  it("extends by the usual amount in one click, 15 min at first, then the last amount used", async () => {
    const onextend = vi.fn();
    render(ExtendMenu, {
      props: { name: "shell", deadline: inMinutes(20), createdAt: inMinutes(0), steps: STEPS, maxMinutes: 1440, onextend },
    });
    const quick = screen.getByTestId("session-extend-quick");
    expect(quick.textContent).toBe("Extend +15 min");
    expect(quick.getAttribute("aria-label")).toBe("Extend shell by 15 min");
    await fireEvent.click(quick);
    expect(onextend).toHaveBeenCalledWith(15);
    expect(screen.queryByRole("menu")).toBeNull();
    extendAmount.remember(30);
    await tick();
    expect(quick.textContent).toBe("Extend +30 min");
    // Remembered from a provider with other steps: the closest one not above 15 min here.
    extendAmount.remember(45);
    await tick();
    expect(quick.textContent).toBe("Extend +15 min");
  });

  it("disables the one-click extension past the provider's limit", () => {
    render(ExtendMenu, {
      props: { name: "shell", deadline: inMinutes(10), createdAt: inMinutes(-1420), steps: STEPS, maxMinutes: 1440,
        onextend: () => {} },
    });
    expect((screen.getByTestId("session-extend-quick") as HTMLButtonElement).disabled).toBe(true);
  });

  it("is a menu the keyboard can drive, and Escape gives focus back", async () => {
    const onextend = vi.fn();
    render(ExtendMenu, {
      props: { name: "shell", deadline: inMinutes(20), createdAt: inMinutes(0), steps: STEPS, maxMinutes: 1440, onextend },
    });
    const button = screen.getByRole("button", { name: "Extend shell by another amount" });
    expect(button.getAttribute("aria-haspopup")).toBe("menu");
    await fireEvent.click(button);
    expect(button.getAttribute("aria-expanded")).toBe("true");
    const menu = screen.getByRole("menu", { name: "Extend shell by" });
    const items = screen.getAllByRole("menuitem");
    expect(document.activeElement).toBe(items[0]);
    await fireEvent.keyDown(menu, { key: "ArrowDown" });
    expect(document.activeElement).toBe(items[1]);
    await fireEvent.keyDown(menu, { key: "ArrowUp" });
    await fireEvent.keyDown(menu, { key: "ArrowUp" });
    expect(document.activeElement).toBe(items[3]);
    await fireEvent.keyDown(menu, { key: "Escape" });
    expect(screen.queryByRole("menu")).toBeNull();
    expect(document.activeElement).toBe(button);
    expect(onextend).not.toHaveBeenCalled();

    await fireEvent.click(button);
    await fireEvent.click(screen.getByTestId("session-extend-30"));
    expect(onextend).toHaveBeenCalledWith(30);
    expect(screen.queryByRole("menu")).toBeNull();
  });

  it("disables extensions past the provider's limit, counted from the session's creation", async () => {
    render(ExtendMenu, {
      props: { name: "shell", deadline: inMinutes(10), createdAt: inMinutes(-1420), steps: STEPS, maxMinutes: 1440,
        onextend: () => {} },
    });
    await fireEvent.click(screen.getByTestId("session-extend"));
    const disabled = screen.getAllByRole("menuitem").map((i) => (i as HTMLButtonElement).disabled);
    expect(disabled).toEqual([false, true, true, true]);
  });
});
