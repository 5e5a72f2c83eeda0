import { describe, expect, test } from 'vitest';
import { REDACTED, isSensitiveKey, redact, redactJson } from '../../core/report/redact.ts';

const R = REDACTED;
const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IkFCQyJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoiY2kifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ';
const PEM = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIIEpAIBAAKCAQEA1c7+9z5Pad7OejecsQ0bu3aumy0ZQw9bH2m3vGrKF0uY5MDv',
  'jbFcK5W5Ca0xXqfNFwFkdBxGxoNcJoFmhG4zjCkGZ8uP3kT9v2dBI0i0bqWY6m8a',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const PEM_B64 = Buffer.from(`${PEM}\n`).toString('base64');
const CERT_B64 = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----\n').toString('base64');

// [what, input, expected output]
const CASES: Array<[string, string, string]> = [
  ['bearer token in a log line', 'GET /api/v1/nodes with Bearer abc123.def456-ghi', `GET /api/v1/nodes with Bearer ${R}`],
  ['Authorization header', 'Authorization: Bearer s3cr3t-t0ken', `Authorization: ${R}`],
  ['Authorization header, basic auth, in curl -H', `curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x`, `curl -H 'Authorization: ${R}' https://x`],
  ['Authorization header, PVE API token', 'authorization: PVEAPIToken=root@pam!ci=0b2b6c9e-9a52-4c52-8b6a-3f0e7d8f1a2b', `authorization: ${R}`],
  [
    'PVE API token outside a header',
    'export PVE_AUTH="PVEAPIToken=clusterproof@pve!nightly=0b2b6c9e-9a52-4c52-8b6a-3f0e7d8f1a2b"',
    `export PVE_AUTH="PVEAPIToken=clusterproof@pve!nightly=${R}"`,
  ],
  ['PVE ticket cookie', 'Cookie: PVEAuthCookie=PVE:root@pam:65A1B2C3::abcdef', `Cookie: ${R}`],
  ['PVE ticket cookie in text', 'sent PVEAuthCookie=PVE:root@pam:65A1B2C3::abc; path=/', `sent PVEAuthCookie=${R}; path=/`],
  ['PVE CSRF header', 'CSRFPreventionToken: 65A1B2C3:Yx3uE0sZ9', `CSRFPreventionToken: ${R}`],
  ['kubeconfig client-key-data', `    client-key-data: ${PEM_B64}`, `    client-key-data: ${R}`],
  ['kubeconfig client-certificate-data', `    client-certificate-data: ${CERT_B64}`, `    client-certificate-data: ${R}`],
  ['kubeconfig token', `    token: ${JWT}`, `    token: ${R}`],
  ['kubeconfig token (opaque)', '    token: 0123456789abcdefghij', `    token: ${R}`],
  ['PEM private key block', `key follows\n${PEM}\nend`, `key follows\n-----BEGIN RSA PRIVATE KEY----- ${R} -----END RSA PRIVATE KEY-----\nend`],
  [
    'PEM private key inside a JSON string',
    JSON.stringify({ pem: `${PEM.replace(/RSA /g, '')}\n` }),
    `{"pem":"-----BEGIN PRIVATE KEY----- ${R} -----END PRIVATE KEY-----\\n"}`,
  ],
  ['truncated PEM private key', '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB', `-----BEGIN EC PRIVATE KEY----- ${R} -----END EC PRIVATE KEY-----`],
  ['base64 PEM private key anywhere (talosconfig key)', `      key: ${PEM_B64}`, `      key: ${R}`],
  ['base64 certificate is kept', `      crt: ${CERT_B64}`, `      crt: ${CERT_B64}`],
  ['JSON password', '{"user":"admin","password":"hunter2"}', `{"user":"admin","password":"${R}"}`],
  ['JSON secret with escapes', '{"clientSecret": "a\\"b\\\\c", "n": 1}', `{"clientSecret": "${R}", "n": 1}`],
  ['JSON numeric token', '{"token": 123456}', `{"token": "${R}"}`],
  ['JSON Authorization header', '{"headers":{"Authorization":"Bearer xyz"}}', `{"headers":{"Authorization":"${R}"}}`],
  ['escaped JSON inside JSON', '{"a":"{\\"password\\":\\"hunter2\\"}"}', `{"a":"{\\"password\\":\\"${R}\\"}"}`],
  ['YAML password', 'admin:\n  password: hunter2 # set by bootstrap', `admin:\n  password: ${R}`],
  ['YAML quoted secret', "  secret: 'abc def'", `  secret: ${R}`],
  ['YAML list item', '- token: abc', `- token: ${R}`],
  ['YAML block scalar', 'password: |\n  line1\n  line2\nnext: ok', `password: |\n  ${R}\n  ${R}\nnext: ok`],
  ['ArgoCD webhook secret (argocd-secret)', '  webhook.github.secret: c2VjcmV0', `  webhook.github.secret: ${R}`],
  ['ArgoCD Bitbucket webhook uuid', '  webhook.bitbucket.uuid: 1b3c-55', `  webhook.bitbucket.uuid: ${R}`],
  ['ArgoCD server.secretkey', '  server.secretkey: abc', `  server.secretkey: ${R}`],
  ['GitLab webhook token header', 'X-Gitlab-Token: s3cret', `X-Gitlab-Token: ${R}`],
  ['GitHub webhook signature header', 'X-Hub-Signature-256: sha256=9f86d08', `X-Hub-Signature-256: ${R}`],
  ['basic auth in URL', 'cloning https://ci:p%40ss@forge.lab/gitops-2.git', `cloning https://ci:${R}@forge.lab/gitops-2.git`],
  ['basic auth in URL with a token', 'git remote https://oauth2:glpat-abcdefghijklmnopqrst@gitlab.com/x', `git remote https://oauth2:${R}@gitlab.com/x`],
  ['token in a query string', 'GET /hook?token=abc123&ref=main', `GET /hook?token=${R}&ref=main`],
  ['env dump', 'PROXMOX_TOKEN_SECRET=0b2b6c9e HOME=/root', `PROXMOX_TOKEN_SECRET=${R} HOME=/root`],
  ['logfmt', 'level=info msg="login" user=admin password="hunter 2" ok=true', `level=info msg="login" user=admin password=${R} ok=true`],
  ['CLI flag with =', 'kubectl --token=abc123 get nodes', `kubectl --token=${R} get nodes`],
  ['CLI flag with a space', 'argocd login --password "hunter 2" --insecure', `argocd login --password ${R} --insecure`],
  ['bare JWT', `argocd.token=${JWT}; Path=/`, `argocd.token=${R}; Path=/`],
  ['GitHub token', 'using ghp_abcdefghijklmnopqrstuvwxyz0123456789', `using ${R}`],
  ['Kubernetes bootstrap token', 'kubeadm join --discovery abcdef.0123456789abcdef', `kubeadm join --discovery ${R}`],
];

describe('redact', () => {
  test.each(CASES)('%s', (_what, input, expected) => {
    expect(redact(input)).toBe(expected);
  });

  test.each(CASES)('is idempotent: %s', (_what, input) => {
    const once = redact(input);
    expect(redact(once)).toBe(once);
  });

  test('keeps JSON valid when it redacts JSON text, and leaves no secret in it', () => {
    const secrets = ['abc123.def456', 'hunter2', 's3cr3t', '0b2b6c9e-9a52', JWT.slice(0, 40)];
    const value = {
      log: `GET /x\nAuthorization: Bearer abc123.def456\npassword=hunter2 user=admin\n`,
      command: 'kubectl --token=s3cr3t get nodes',
      quoted: 'PVE_AUTH="PVEAPIToken=ci@pve!n=0b2b6c9e-9a52" and PASSWORD="hunter2"',
      url: 'https://ci:hunter2@forge.lab/x.git',
      nested: JSON.stringify({ token: JWT, note: 'Authorization: Bearer abc123.def456' }),
    };
    for (const text of [JSON.stringify(value), JSON.stringify(value, null, 2), JSON.stringify(JSON.stringify(value))]) {
      const out = redact(text);
      expect(() => JSON.parse(out), out).not.toThrow();
      for (const secret of secrets) expect(out).not.toContain(secret);
      expect(redact(out)).toBe(out);
    }
  });

  test('leaves innocent text unchanged', () => {
    const innocent = [
      'etcd member cp1 (https://198.18.40.61:2379) healthy, raft index 4812, leader cp2',
      'readyz through the VIP 198.18.40.60:6443 answered 200 in 12 ms',
      'Bearer tokens are checked by the API server; see the Authorization docs.',
      'ssh://git@forge.lab/gitops-2.git and git@github.com:org/repo.git',
      'kind: Secret',
      'metadata:',
      '  name: argocd-secret',
      '  secretName: webhook-creds',
      '  tokenFile: /var/run/secrets/token',
      '  certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t',
      'passed: 12, failed: 0, bypass: false',
      '{"name":"new leader","kind":"detection","atMs":5900,"outcome":"ok","sloMs":5000}',
      'https://198.18.40.60:6443/api/v1/namespaces/default/pods?limit=500&labelSelector=app%3Dnginx',
      'CLUSTERPROOF_PROFILE=profiles/seed.yaml npm start -- --dry-run --profile profiles/seed.yaml',
      'PVEAPIToken is how Proxmox authenticates API clients',
      '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----',
      'node.kubernetes.io/exclude-from-external-load-balancers',
      'talosctl --talosconfig ./talosconfig --nodes 198.18.40.61 etcd status',
      'holds no inline secret: every secret is an env or file reference',
      '{"allowtoken":1,"maxTokens":5,"description":"Get virtual machine status."}',
      "pveum acl modify /vms/101 --tokens 'monitor@pve!readonly' --roles PVEVMUser",
      'export PROXMOX_TOKEN_SECRET=... before running; or PASSWORD=$PASSWORD, TOKEN=${CI_TOKEN}',
      'password: <from the vault>',
    ].join('\n');
    expect(redact(innocent)).toBe(innocent);
  });
});

describe('redactJson', () => {
  test('replaces sensitive members at any depth and redacts every string', () => {
    const input = {
      experiment: 'vip failover',
      access: { proxmox: { url: 'https://pve:secretpw@pve.lab:8006', tokenEnv: 'PVE_TOKEN', token: 'root@pam!ci=uuid' } },
      headers: [{ Authorization: 'Bearer abc123' }, { Accept: 'application/json' }],
      credentials: { user: 'u', pass: 'p' },
      apiKey: 42,
      password: null,
      insecure: true,
      log: 'sent Authorization: Bearer abc123',
      when: new Date('2025-01-02T03:04:05.000Z'),
    };
    expect(redactJson(input)).toEqual({
      experiment: 'vip failover',
      access: { proxmox: { url: `https://pve:${R}@pve.lab:8006`, tokenEnv: 'PVE_TOKEN', token: R } },
      headers: [{ Authorization: R }, { Accept: 'application/json' }],
      credentials: R,
      apiKey: R,
      password: null,
      insecure: true,
      log: `sent Authorization: ${R}`,
      when: '2025-01-02T03:04:05.000Z',
    });
    expect(input.access.proxmox.token).toBe('root@pam!ci=uuid'); // the input is not modified
  });

  test('copes with shared and circular references', () => {
    const shared = { a: 1 };
    const looped: Record<string, unknown> = { shared, again: shared };
    looped.self = looped;
    expect(redactJson(looped)).toEqual({ shared: { a: 1 }, again: { a: 1 }, self: '[circular]' });
  });

  test('knows which keys are sensitive', () => {
    for (const key of ['password', 'PASSWORD', 'db_pass', 'clientSecret', 'token', 'access_token', 'apiKey', 'api-key', 'tls.key', 'client-key-data', 'webhook.gitlab.secret', 'userToken', 'issuer_token', 'MAX_TOKEN'])
      expect(isSensitiveKey(key), key).toBe(true);
    for (const key of ['name', 'passed', 'secretName', 'tokenFile', 'passwordEnv', 'certificate-authority-data', 'key', 'monkey', 'keys', 'allowtoken', 'maxTokens', 'isSecret', 'num_tokens'])
      expect(isSensitiveKey(key), key).toBe(false);
  });
});
