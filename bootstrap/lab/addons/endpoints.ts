/**
 * Where the lab's gitops stack lives: the git server in the forge namespace, ArgoCD and the MetalLB controller in
 * the addons namespace. Every address comes from the lab plan; the secrets are files in the lab state dir.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { labNode, labPlan } from '../../../providers/lab/plan.ts';
import { labStateDir } from '../../../providers/lab/paths.ts';

const forge = () => labNode('forge');
const addons = () => labNode('addons');

export const GITOPS_REPO_NAME = 'gitops';
export const GITOPS_BRANCH = 'main';
/** The lab's Applications sync overlays/lab/<app>: the same apps with the images built on this machine. */
export const LAB_OVERLAY = 'lab';

export const labGitops = {
  /** the repository ArgoCD syncs from, as the Applications name it */
  repoURL: () => `http://${forge().ip}/${GITOPS_REPO_NAME}.git`,
  /** the git server's base URL (GitHub's html_url drops the .git) */
  forgeBaseURL: () => `http://${forge().ip}`,
  forgePort: 80,
  /** loopback port inside the forge namespace where the post-receive hook reports a push */
  forgeHookPort: 8787,
  argocdURL: () => `http://${addons().ip}:8080`,
  webhookURL: () => `http://${addons().ip}:8080/api/webhook`,
  redisAddress: () => `${addons().ip}:6379`,
  repoServerAddress: () => `${addons().ip}:8081`,
  argocdNamespace: 'argocd',
  metallbNamespace: 'metallb-system',
  lbPool: labPlan.lbPool,
};

export const gitopsPaths = {
  repos: () => join(labStateDir(), 'forge', 'repos'),
  deliveries: () => join(labStateDir(), 'forge', 'deliveries.jsonl'),
  /** the secret ArgoCD verifies webhooks with (argocd-secret webhook.github.secret) */
  webhookSecret: () => join(labStateDir(), 'webhook-secret'),
  /** the secret the git server signs with: the same file, unless a lab variant breaks it */
  forgeSigningSecret: () => join(labStateDir(), 'forge', 'signing-secret'),
  /** redis' config file (holds requirepass, so it is not on a command line) and the password ArgoCD reads */
  redisConfig: () => join(labStateDir(), 'data', 'addons', 'redis.conf'),
  redisPassword: () => join(labStateDir(), 'redis-password'),
  argocdData: () => join(labStateDir(), 'data', 'addons', 'argocd'),
  redisData: () => join(labStateDir(), 'data', 'addons', 'redis'),
};

/** ArgoCD's redis password (upstream: the argocd-redis Secret), generated once per lab state dir. */
export function ensureRedisPassword(): string {
  const file = gitopsPaths.redisPassword();
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/** The shared webhook secret, generated once per lab state dir. */
export function ensureWebhookSecret(): string {
  const file = gitopsPaths.webhookSecret();
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('hex'), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}
