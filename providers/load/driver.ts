/**
 * One interface for every load engine: the embedded engine (vegeta library, the default), a user's k6, the
 * k6-operator. A run streams normalized samples (core/load/samples.ts) while it goes, so a suite can watch the
 * load during a fault, and resolves to the whole result; the verdict comes from core/load/thresholds.ts whatever
 * engine ran.
 */
import type { LoadResult, RequestSample } from '../../core/load/samples.ts';
import type { Scenario } from '../../core/load/scenario.ts';

export interface LoadTarget {
  /** scheme, host and port of the service under load, e.g. http://198.18.40.70:80 */
  baseUrl: string;
  /** the network guard's permission for an address beyond loopback and the lab (a real target's LB address) */
  allowRemote: boolean;
}

export interface LoadRun {
  /** the samples so far, in the order requests ended */
  readonly samples: readonly RequestSample[];
  /** ms since the load started */
  elapsedMs(): number;
  /** stop early (abortOnFail, the caller's failure); the result says why */
  stop(reason: string): void;
  readonly done: Promise<LoadResult>;
}

export interface LoadDriver {
  readonly engine: string;
  /** the engine's version string, or a reason it cannot run here */
  probe(): Promise<{ ok: true; version: string } | { ok: false; reason: string }>;
  start(scenario: Scenario, target: LoadTarget): LoadRun;
}
