/** The lab's git server ("forge"): its public API. */
export { startGitServer, type GitServer, type GitServerOptions } from './server.ts';
export { initForgeRepository, SEED_COMMIT_MESSAGE, type ForgeRepository, type ForgeRepositoryOptions } from './repository.ts';
export { readDeliveries, type DeliveryRecord } from './deliveries.ts';
export { SKIP_WEBHOOK_OPTION, type WebhookTarget } from './post-receive.ts';
export type { PushEvent, PushCommit } from './push-event.ts';
