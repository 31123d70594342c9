import { render, screen, within } from "@testing-library/svelte";
import { describe, expect, it } from "vitest";
import type { SessionRow } from "../stores/sessions.svelte";
import SessionList from "./SessionList.svelte";

const rows: SessionRow[] = [
  { id: "s1", name: "flux-dev", machine: "A100 80GB", state: "running" },
  { id: "s2", name: "qaoa-run", machine: "ibm_brisbane", state: "starting" },
  { id: "s3", name: "nightly", machine: "Local", state: "failed" },
];

describe("SessionList", () => {
  it("shows the empty state when there are no sessions", () => {
    render(SessionList, { props: { sessions: [] } });
    const list = screen.getByTestId("session-list");
    expect(within(list).getByTestId("session-list-empty")).toBeTruthy();
    expect(within(list).getByRole("heading", { name: "No sessions yet" })).toBeTruthy();
    expect(within(list).queryByRole("table")).toBeNull();
  });

  it("renders one row per session, in order, and no empty state", () => {
    render(SessionList, { props: { sessions: rows } });
    expect(screen.queryByTestId("session-list-empty")).toBeNull();
    const rendered = screen.getAllByTestId("session-row");
    expect(rendered.map((row) => row.dataset.sessionId)).toEqual(["s1", "s2", "s3"]);
    const cells = within(rendered[1]!).getAllByRole("cell");
    expect(within(rendered[1]!).getByRole("rowheader").textContent).toBe("qaoa-run");
    expect(cells.map((cell) => cell.textContent?.trim())).toEqual(["ibm_brisbane", "Starting"]);
    expect(screen.getByLabelText("3 sessions").textContent).toBe("3");
  });

  it("follows changes to the sessions it is given", async () => {
    const { rerender } = render(SessionList, { props: { sessions: rows.slice(0, 1) } });
    expect(screen.getAllByTestId("session-row")).toHaveLength(1);
    await rerender({ sessions: [] });
    expect(screen.queryAllByTestId("session-row")).toHaveLength(0);
    expect(screen.getByTestId("session-list-empty")).toBeTruthy();
  });
});
