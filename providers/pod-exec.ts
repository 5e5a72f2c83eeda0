/**
 * Runs a command in a container through the API server (what `kubectl exec` does: the kubelet's streaming endpoint,
 * proxied), collecting its output and exit code, bounded in time.
 */
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import type { KubeAccess } from './kube.ts';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** The exit code a Failure status carries (details.causes ExitCode), or 1 when it names none. */
function exitCode(status: k8s.V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message ? Number(cause.message) : 1;
}

export async function execInPod(kube: KubeAccess, ref: { namespace: string; pod: string; container: string }, argv: string[], timeoutMs: number): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  let socket: { close(): void } | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<ExecResult>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`exec in ${ref.namespace}/${ref.pod} did not finish within ${timeoutMs / 1000} s: ${argv.join(' ')}`)), timeoutMs);
      new k8s.Exec(kube.config)
        .exec(ref.namespace, ref.pod, ref.container, argv, out.stream, err.stream, null, false, (status) =>
          resolve({ code: exitCode(status), stdout: out.text(), stderr: err.text() }),
        )
        .then((ws) => {
          socket = ws;
          ws.on('error', (e: Error) => reject(new Error(`exec in ${ref.namespace}/${ref.pod}: ${e.message}`)));
        }, reject);
    });
  } finally {
    clearTimeout(timer);
    socket?.close();
  }
}
