import { render, screen } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import LocalServerStatus from "./LocalServerStatus.svelte";

describe("LocalServerStatus", () => {
  it("shows where a running Local server listens and where its key lives", () => {
    render(LocalServerStatus, {
      props: { status: { state: "running", base_url: "http://127.0.0.1:7788/api", key_in_keychain: false } },
    });
    const box = screen.getByTestId("local-server-status");
    expect(box.dataset.state).toBe("running");
    expect(box.textContent).toContain("http://127.0.0.1:7788/api");
    expect(box.textContent).toContain("private file");
  });

  it("says it is starting, as a status for screen readers", () => {
    render(LocalServerStatus, { props: { status: { state: "starting" } } });
    expect(screen.getByRole("status").textContent).toContain("Starting");
  });

  it("shows the coded reason when it failed", () => {
    render(LocalServerStatus, {
      props: {
        status: { state: "failed", error: { code: "io", message: "cannot listen on 127.0.0.1:7788" } },
      },
    });
    const box = screen.getByTestId("local-server-status");
    expect(box.dataset.state).toBe("failed");
    expect(box.textContent).toContain("io");
    expect(box.textContent).toContain("cannot listen");
  });
});
