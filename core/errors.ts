/**
 * Errors a user can act on. They are printed as a plain message (no stack trace) and mapped to a documented exit code.
 * Anything else that escapes is a bug in clusterproof and is printed with its stack.
 */
export const ExitCode = {
  ok: 0,
  /** a check failed: lint errors, a suite found a property violated */
  checkFailed: 1,
  /** bad input: profile, flags, arguments */
  badInput: 2,
  /** a prerequisite is missing: a tool, root, a built lab component */
  missingPrerequisite: 3,
  /** refused by the blast-radius or network-safety guard */
  refused: 4,
  /** the run was interrupted (SIGINT/SIGTERM); faults were undone */
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.badInput,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** A tool or privilege the command needs is absent; the message says how to get it. */
export class MissingPrerequisiteError extends UserError {
  constructor(what: string, howToFix: string) {
    super(`${what}\n  fix: ${howToFix}`, ExitCode.missingPrerequisite);
    this.name = 'MissingPrerequisiteError';
  }
}

/** The blast-radius or network guard refused an action. */
export class RefusedError extends UserError {
  constructor(message: string) {
    super(message, ExitCode.refused);
    this.name = 'RefusedError';
  }
}
