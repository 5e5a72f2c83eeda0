/**
 * Certificates an upgrade depends on: the kubeconfig's and talosconfig's client certificates, and the API server's
 * serving certificate, against a stated window (the upgrade must finish, and the next one start, before they expire).
 */
import { blocker, warning, type Finding } from './verdict.ts';

export interface CertificateFacts {
  /** what it is: "kubeconfig client certificate (user admin)", "API server serving certificate (198.18.40.60:6443)" */
  what: string;
  subject: string;
  notAfter: Date;
}

const DAY = 86_400_000;

export function checkCertificates(certs: readonly CertificateFacts[], windowDays: number, now = new Date()): Finding[] {
  const out: Finding[] = [];
  for (const c of certs) {
    const days = (c.notAfter.getTime() - now.getTime()) / DAY;
    const when = c.notAfter.toISOString();
    if (days <= 0) out.push(blocker(`${c.what} (${c.subject}) expired on ${when}`));
    else if (days <= windowDays) out.push(blocker(`${c.what} (${c.subject}) expires on ${when}, in ${days.toFixed(1)} days: inside the ${windowDays}-day window`, 'renew it before the upgrade'));
    else if (days <= 2 * windowDays) out.push(warning(`${c.what} (${c.subject}) expires on ${when}, in ${days.toFixed(0)} days: within twice the ${windowDays}-day window`));
  }
  return out;
}
