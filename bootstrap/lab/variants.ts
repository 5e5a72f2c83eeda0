/**
 * Lab variants: the lab with one property deliberately broken, so the project's negative controls can prove
 * each suite fails when the property it guards is gone. `lab up --variant NAME`; the default lab has none.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { labStateDir } from '../../providers/lab/paths.ts';
import type { ProcessSpec } from './process-manager.ts';

export const LAB_VARIANTS = {
  'vip-single-holder': 'the VIP agent runs on cp1 only, so the VIP can never fail over to another control plane',
  'gitops-autosync-off': 'the gitops repository is seeded with Applications without automated sync, so a push never deploys',
  'webhook-wrong-secret': 'the git server signs push webhooks with a secret ArgoCD does not know, so ArgoCD rejects every webhook',
  'lb-single-speaker':
    'w2 is labelled node.kubernetes.io/exclude-from-external-load-balancers, so only w1 may ever announce the LoadBalancer address (needs --workers real)',
} as const;
export type LabVariant = keyof typeof LAB_VARIANTS;

/** Variants that break a data-plane property: they need real workers. */
export const REAL_WORKER_VARIANTS: readonly LabVariant[] = ['lb-single-speaker'];

/** The node label a variant sets once the nodes are registered. */
export function variantNodeLabels(variant: LabVariant | undefined): Array<{ node: string; labels: Record<string, string> }> {
  if (variant === 'lb-single-speaker') return [{ node: 'w2', labels: { 'node.kubernetes.io/exclude-from-external-load-balancers': '' } }];
  return [];
}

const variantFile = () => join(labStateDir(), 'variant');

export function parseVariant(name: string | undefined): LabVariant | undefined {
  if (name === undefined) return undefined;
  if (!Object.hasOwn(LAB_VARIANTS, name)) {
    throw new UserError(`unknown lab variant "${name}"; variants: ${Object.entries(LAB_VARIANTS).map(([k, v]) => `${k} (${v})`).join('; ')}`);
  }
  return name as LabVariant;
}

export function saveVariant(variant: LabVariant | undefined): void {
  if (variant) writeFileSync(variantFile(), variant);
  else rmSync(variantFile(), { force: true });
}

export function currentVariant(): LabVariant | undefined {
  return existsSync(variantFile()) ? (readFileSync(variantFile(), 'utf8').trim() as LabVariant) : undefined;
}

/** The node's processes as the variant wants them. */
export function applyVariant(variant: LabVariant | undefined, specs: ProcessSpec[]): ProcessSpec[] {
  if (variant === 'vip-single-holder') return specs.filter((s) => s.name !== 'vip-agent' || s.node === 'cp1');
  return specs;
}
