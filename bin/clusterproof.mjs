#!/usr/bin/env node
// Entry point: TypeScript sources run through tsx's loader, so there is no build step to forget.
import { register } from 'tsx/esm/api';
register();
// the lab's own processes (VIP agent, API load balancer, git server) start through a program that loads only them
const labProcess = await import('../cli/lab-process-main.ts');
const { main } = labProcess.isLabProcess(process.argv) ? labProcess : await import('../cli/main.ts');
process.exitCode = await main(process.argv);
