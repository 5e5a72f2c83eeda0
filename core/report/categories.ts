/**
 * Allure 3 categories (the `categories` option of the Allure config; Allure 3's Awesome report ignores an Allure 2
 * categories.json in the results). Allure hands each matcher the test's status, error message and stack trace;
 * one classifier decides, so the order of the rules cannot drift from it. Allure appends its own "Product errors"
 * and "Test errors" after these, which nothing reaches.
 *
 * allure-vitest reports an assertion failure as `failed` and any other thrown error as `broken`; the trace starts
 * with the error's class name (`SloViolation: ...`, `ExpectationError: ...`).
 */
import type { AllureConfig } from 'allure';

type CategoryRules = Extract<NonNullable<AllureConfig['categories']>, unknown[]>;

/** The lab, the target or the network was not there: rerun before believing anything. */
export const INFRASTRUCTURE_FAILURE =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|socket hang up|lab (is )?not up|prerequisite/i;

/** The stack did not keep a property it must keep: the finding the suites exist for. */
export const PROPERTY_VIOLATION = /SLO violated|expectation failed|property violated/i;

export type FailureKind = 'property-violation' | 'infrastructure-flake' | 'harness-error';

export interface FailureFacts {
  status: string;
  message?: string;
  trace?: string;
}

export function classifyFailure({ status, message = '', trace = '' }: FailureFacts): FailureKind | undefined {
  if (status !== 'failed' && status !== 'broken') return undefined;
  const errorClass = /^\s*([A-Za-z_$][\w$]*):/.exec(trace)?.[1] ?? '';
  // an SLO missed after a fault is a finding even when the last error seen was a refused connection
  if (errorClass === 'SloViolation' || /SLO violated/i.test(message)) return 'property-violation';
  if (errorClass === 'MissingPrerequisiteError' || INFRASTRUCTURE_FAILURE.test(message)) return 'infrastructure-flake';
  if (status === 'failed' || errorClass === 'ExpectationError' || PROPERTY_VIOLATION.test(message)) return 'property-violation';
  return 'harness-error';
}

const is =
  (kind: FailureKind) =>
  (facts: FailureFacts): boolean =>
    classifyFailure(facts) === kind;

/** The label the report puts on a result measured slower than the last good run (core/report/amend.ts). */
export const REGRESSION_LABEL = 'regression';

/** Failures first: a result that failed is in its failure's category, whatever else it measured. */
export const REPORT_CATEGORIES: CategoryRules = [
  { id: 'property-violations', name: 'Property violations', matchers: is('property-violation'), expand: true },
  { id: 'infrastructure-flakes', name: 'Infrastructure flakes', matchers: is('infrastructure-flake') },
  { id: 'harness-errors', name: 'Harness errors (bug in clusterproof or a suite)', matchers: is('harness-error') },
  {
    id: 'slower-than-last-good-run',
    name: 'Slower than the last good run',
    matchers: (d) => d.labels.some((l) => l.name === REGRESSION_LABEL),
    expand: true,
  },
];
