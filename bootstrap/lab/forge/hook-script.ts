/**
 * The post-receive hook the forge installs in every repository. It sits on the push path whose latency the
 * gitops suite measures, so it does one thing: hand the push (the `<old> <new> <ref>` lines, the repository and
 * the push options) to the server's loopback callback, wait for the verdict and print it, which git relays to the
 * pusher as `remote: ...` lines. Plain JS run by the same node binary as the server (no curl, no shell); only a
 * dynamic import, so it runs the same whether node treats the file as CommonJS or as an ES module.
 */
export const HOOK_CALLBACK_PATH = '/post-receive';

/** What the hook posts to the callback, as JSON. */
export interface PostReceiveReport {
  /** the hook's working directory (git runs hooks in the repository) */
  cwd: string;
  /** $GIT_DIR as git set it, often relative to cwd */
  gitDir: string;
  /** the hook's stdin: one `<old> <new> <ref>` line per updated ref */
  updates: string;
  /** GIT_PUSH_OPTION_0..GIT_PUSH_OPTION_<count-1> */
  pushOptions: string[];
}

export function postReceiveHookScript(hookPort: number, nodeBinary = process.execPath): string {
  return `#!${nodeBinary}
// Written by clusterproof's lab git server (bootstrap/lab/forge) each time it starts: do not edit.
import('node:http').then(({ request }) => {
  const chunks = [];
  process.stdin.on('data', (c) => chunks.push(c));
  process.stdin.on('end', () => {
    const env = process.env;
    const pushOptions = [];
    for (let i = 0; i < Number(env.GIT_PUSH_OPTION_COUNT || 0); i++) pushOptions.push(env['GIT_PUSH_OPTION_' + i] || '');
    const body = JSON.stringify({ cwd: process.cwd(), gitDir: env.GIT_DIR || '.', updates: Buffer.concat(chunks).toString('utf8'), pushOptions });
    const fail = (why) => { process.stdout.write('webhook NOT SENT: the forge callback failed: ' + why + '\\n'); };
    const req = request(
      { host: '127.0.0.1', port: ${hookPort}, path: '${HOOK_CALLBACK_PATH}', method: 'POST', timeout: 60000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const out = [];
        res.on('data', (c) => out.push(c));
        res.on('end', () => {
          const text = Buffer.concat(out).toString('utf8');
          if (res.statusCode === 200) process.stdout.write(text.endsWith('\\n') ? text : text + '\\n');
          else fail('HTTP ' + res.statusCode + ' ' + text.trim());
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (e) => fail(e.message));
    req.end(body);
  });
});
`;
}
