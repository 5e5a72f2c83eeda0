/**
 * What every load engine reports, normalized: one sample per request. The threshold evaluator and the charts read
 * only this, so k6, the k6-operator and the embedded engine get the same verdict from the same rules.
 */

export interface RequestSample {
  /** when the request ended, in ms since the load started (k6 timestamps http_req_* samples at the end) */
  atMs: number;
  /** the scenario endpoint's name: the `endpoint` tag */
  endpoint: string;
  method: string;
  /** HTTP status; 0 when no response came (refused, reset, timed out) */
  status: number;
  /** ms from sending to the end of the body (the embedded engine includes connecting; k6's http_req_duration does not) */
  durationMs: number;
  /** status within the endpoint's expectStatus (k6's expected_response tag) */
  expected: boolean;
  /** why the request failed when it did: a socket error, a timeout, or "HTTP 503" */
  error?: string;
}

export interface LoadResult {
  engine: string;
  /** the engine's own version string, recorded in the report */
  engineVersion: string;
  startedAt: Date;
  /** ms from the first planned start to the last response */
  elapsedMs: number;
  samples: RequestSample[];
  /** requests the engine could not start on time (k6's dropped_iterations) */
  dropped: number;
  /** the run was stopped by an abortOnFail threshold or by the caller */
  aborted?: string;
}
