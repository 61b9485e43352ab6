/** The options of the console walk (test/browser/console-walk.ts), in a file without DOM types. */
export interface ConsoleWalkOptions {
  /** The origin the console is served from (read when the walk starts). */
  origin: () => string;
  /** Account names to create (new ones). */
  patient: string;
  hospital: string;
  /** A person the patient lets read one folder only (searching must not reach beyond it). */
  reader: string;
  /** A folder (URL ending in /) for the screenshots. */
  screenshots: URL;
}

/** What the walk saw, filled in as its steps run: every token secret the console showed. */
export interface ConsoleWalkRecord {
  tokens: string[];
}

export type ConsoleWalk = (options: ConsoleWalkOptions) => ConsoleWalkRecord;
