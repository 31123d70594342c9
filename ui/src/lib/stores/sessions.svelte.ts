/** Where a session is in its life, as the list shows it. */
export type SessionState = "starting" | "running" | "stopping" | "ended" | "failed";

/** One row of the session list. A UI-side shape until the backend serves sessions. */
export interface SessionRow {
  id: string;
  name: string;
  machine: string;
  state: SessionState;
}

/** The sessions the list shows. Empty until the backend serves sessions. */
export class SessionStore {
  rows: SessionRow[] = $state([]);
}
