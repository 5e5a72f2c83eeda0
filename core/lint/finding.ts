/** One result of the topology lint: what is wrong, where in the profile, why it matters and how to fix it. */
export type Severity = 'error' | 'warning';

export interface Finding {
  severity: Severity;
  /** stable kebab-case identifier, e.g. vip-in-lb-pool */
  code: string;
  /** profile field path, e.g. network.loadBalancerPools[0].addresses[0] */
  path: string;
  message: string;
  explanation?: string;
  suggestion?: string;
}

type Details = Pick<Finding, 'explanation' | 'suggestion'>;

export function error(code: string, path: string, message: string, details: Details = {}): Finding {
  return { severity: 'error', code, path, message, ...details };
}

export function warning(code: string, path: string, message: string, details: Details = {}): Finding {
  return { severity: 'warning', code, path, message, ...details };
}
