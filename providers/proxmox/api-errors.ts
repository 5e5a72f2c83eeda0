/**
 * What can go wrong talking to the Proxmox API, with messages that say what to do. The token secret never
 * appears in any of them.
 */
import { ExitCode, UserError } from '../../core/errors.ts';
import type { PveTaskStatus } from './api-types.ts';

interface ApiFailure {
  method: string;
  /** API path below /api2/json */
  path: string;
  status: number;
  /** HTTP reason phrase: PVE puts its error message there */
  statusMessage: string;
  /** per-parameter messages from a 400 */
  errors?: Record<string, string>;
}

function describe(f: ApiFailure): string {
  const errors = f.errors && Object.keys(f.errors).length > 0
    ? ': ' + Object.entries(f.errors).map(([k, v]) => `${k}: ${v}`).join('; ')
    : '';
  return `${f.status} ${f.statusMessage}${errors}`;
}

/** PVE answered with an error status. 5xx (including PVE's 595/596 proxy errors) count as transient. */
export class PveApiError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly statusMessage: string;
  readonly errors?: Record<string, string>;

  constructor(f: ApiFailure) {
    super(`Proxmox API ${f.method} ${f.path} failed: ${describe(f)}`);
    this.name = 'PveApiError';
    this.method = f.method;
    this.path = f.path;
    this.status = f.status;
    this.statusMessage = f.statusMessage;
    this.errors = f.errors;
  }
}

/** 401 or 403: the user must fix the token or its ACL; nothing to retry. */
export class PveAuthError extends UserError {
  readonly status: number;
  readonly path: string;

  constructor(f: ApiFailure, tokenId: string, needed?: { privilege: string; object: string }) {
    const what = `${f.method} ${f.path}`;
    const message =
      f.status === 401
        ? `Proxmox rejected API token ${tokenId} on ${what} (${describe(f)}): check access.proxmox.tokenId and ` +
          `tokenSecret (the secret is the UUID shown once when the token was created) and that the token is not ` +
          `expired or deleted (pveum user token list USER@REALM)`
        : `Proxmox API token ${tokenId} was denied ${what} (${describe(f)})` +
          (needed
            ? `: it likely lacks ${needed.privilege} on ${needed.object}. Grant it, e.g. ` +
              `pveum acl modify ${needed.object} --tokens '${tokenId}' --roles PVEVMUser ` +
              `(a token with privilege separation needs its own ACL, not only its user's)`
            : '');
    super(message, ExitCode.missingPrerequisite);
    this.name = 'PveAuthError';
    this.status = f.status;
    this.path = f.path;
  }
}

/** The request never got an answer in time. */
export class PveTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly method: string,
    readonly path: string,
    timeoutMs: number,
  ) {
    super(`Proxmox API ${method} ${path}: no answer within ${timeoutMs} ms`);
    this.name = 'PveTimeoutError';
  }
}

/** A task ended with an exit status other than OK. */
export class PveTaskError extends Error {
  constructor(
    readonly upid: string,
    readonly task: PveTaskStatus,
    readonly log: string[],
  ) {
    const tail = log.length > 0 ? `\n  task log (last lines):\n${log.map((l) => `    ${l}`).join('\n')}` : '';
    super(`Proxmox task ${task.type} ${task.id} on ${task.node} failed: ${task.exitstatus ?? '(no exit status)'} (${upid})${tail}`);
    this.name = 'PveTaskError';
  }
  get exitstatus(): string | undefined {
    return this.task.exitstatus;
  }
}

/** A task was still running when the wait gave up; it was not cancelled. */
export class PveTaskTimeoutError extends Error {
  constructor(
    readonly upid: string,
    readonly timeoutMs: number,
    readonly lastStatus: PveTaskStatus,
  ) {
    super(`Proxmox task ${lastStatus.type} ${lastStatus.id} on ${lastStatus.node} still ${lastStatus.status} after ${timeoutMs} ms (${upid}); it was left running`);
    this.name = 'PveTaskTimeoutError';
  }
}
