/** A command line the CLI cannot run: exit code 2, a short message and where the help is. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** The help to point at: `podstore <helpFor> --help` (the general help when undefined). */
  readonly helpFor: string | undefined;

  constructor(message: string, helpFor?: string) {
    super(message);
    this.helpFor = helpFor;
  }

  /** The text for stderr: the problem, then the hint. */
  hint(): string {
    return `podstore: ${this.message}\nTry 'podstore ${this.helpFor === undefined ? '' : `${this.helpFor} `}--help'.\n`;
  }
}
