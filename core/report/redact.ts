/**
 * Removes secrets from anything that is about to be attached to a report: tokens, keys, passwords, credentials in
 * URLs, in headers, in JSON, YAML, kubeconfigs, command lines and environment dumps. Errs on the side of removing:
 * a value under a key that looks sensitive is removed even when it happens to be harmless.
 */

export const REDACTED = '[REDACTED]';

/** Key names whose values are secrets (JSON, YAML, query strings, env vars, CLI flags). */
const SENSITIVE_KEY =
  /pass(word|wd|phrase)?$|^pwd$|secret|token|api[-_.]?key|private[-_.]?key|credential|authorization|^cookie$|^set-cookie$|client-key-data|client-certificate-data|webhook\.bitbucket\.uuid|[._-]key$/i;
/** ...unless the key only names where the secret lives, describes it, or is a switch or a count. */
const DESCRIBES_A_SECRET = /(ref|refs|name|names|file|path|env|ttl|expiry|expiration|expires|type|namespace|mtime|at)$/i;
const FLAG_OR_COUNT = /^(allow|enable|disable|has|is|use|require|max|min|num|count)([-_.]|[A-Z]|token|secret|pass|key|cred)/;

export function isSensitiveKey(key: string): boolean {
  const camel = key.charAt(0).toLowerCase() + key.slice(1);
  return SENSITIVE_KEY.test(key) && !DESCRIBES_A_SECRET.test(key) && !FLAG_OR_COUNT.test(camel);
}

/**
 * Values that cannot be a secret: placeholders (`...`, `<token>`, `***`), references to a variable (`$TOKEN`,
 * `${TOKEN}`), a PVE token id without its secret (`user@realm!name`).
 */
function isHarmlessValue(value: string): boolean {
  const v = value.replace(/^(["'])(.*)\1$/, '$2');
  return /^(\.{3}|<[^<>]*>|\*+|x{3,}|\$\{?\w+\}?|[\w.-]+@[\w.-]+![\w.-]+)$/i.test(v) || v.includes(REDACTED);
}

type Rule = { name: string; pattern: RegExp; replace: (match: string, ...groups: string[]) => string };

const HEADERS =
  'authorization|proxy-authorization|cookie|set-cookie|x-gitlab-token|x-hub-signature(?:-256)?|x-api-key|x-auth-token|csrfpreventiontoken';

/** Applied in order; each replacement leaves text that no rule matches again, so redaction is idempotent. */
const RULES: Rule[] = [
  {
    name: 'PEM private key block',
    pattern: /-----BEGIN ([A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?)-----[\s\S]*?(?:-----END \1-----|$)/g,
    replace: (_m, label) => `-----BEGIN ${label}----- ${REDACTED} -----END ${label}-----`,
  },
  {
    name: 'base64-encoded PEM private key (kubeconfig client-key-data, talosconfig key, Secret tls.key)',
    pattern: /\bLS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}/g,
    replace: (m) => (Buffer.from(m, 'base64').toString('latin1').includes('PRIVATE KEY') ? REDACTED : m),
  },
  {
    name: 'PVE API token secret',
    pattern: /(PVEAPIToken\s*=\s*[^\s!=]+![^\s=]+=)[^\s"',;\\]+/gi,
    replace: (_m, keep) => `${keep}${REDACTED}`,
  },
  {
    name: 'PVE ticket cookie',
    pattern: /(PVEAuthCookie=)[^\s;"'\\]+/gi,
    replace: (_m, keep) => `${keep}${REDACTED}`,
  },
  {
    name: 'secret-bearing HTTP header',
    pattern: new RegExp(`(^|[\\s'"{,(]|\\\\[nrt])((?:${HEADERS})[ \\t]*:[ \\t]*)(?![ \\t]*${escapeRe(REDACTED)})[^\\r\\n'"\\\\]+`, 'gim'),
    replace: (_m, lead, keep) => `${lead}${keep}${REDACTED}`,
  },
  {
    name: 'bearer token',
    pattern: /\b(Bearer\s+)(?:(?=[A-Za-z0-9\-._~+/]*[0-9._~+/-])[A-Za-z0-9\-._~+/]{8,}|[A-Za-z]{20,})=*/g,
    replace: (_m, keep) => `${keep}${REDACTED}`,
  },
  {
    name: 'JWT (Kubernetes service account, ArgoCD session)',
    pattern: /\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g,
    replace: () => REDACTED,
  },
  {
    name: 'GitHub / GitLab access token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,})\b/g,
    replace: () => REDACTED,
  },
  {
    name: 'Kubernetes bootstrap token',
    pattern: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
    replace: () => REDACTED,
  },
  {
    name: 'password in URL',
    pattern: /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@'"\\]+:)[^\s@/'"\\]+(@)/gi,
    replace: (_m, keep, at) => `${keep}${REDACTED}${at}`,
  },
  {
    name: 'JSON member with a sensitive key',
    pattern: /("([^"\\]*)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)/g,
    replace: (m, keep, key) => (isSensitiveKey(key) ? `${keep}"${REDACTED}"` : m),
  },
  {
    name: 'escaped JSON member with a sensitive key (JSON inside a JSON string)',
    pattern: /(\\"([^"\\]*)\\"\s*:\s*)\\"[^"]*?\\"/g,
    replace: (m, keep, key) => (isSensitiveKey(key) ? `${keep}\\"${REDACTED}\\"` : m),
  },
  {
    name: 'query parameter with a sensitive name',
    pattern: /([?&;]([\w.-]+)=)[^&\s#"'\\]+/g,
    replace: (m, keep, key) => (isSensitiveKey(key) && !m.endsWith(REDACTED) ? `${keep}${REDACTED}` : m),
  },
  {
    name: 'key=value with a sensitive key (env dumps, logfmt, cookies)',
    pattern: /(^|[\s,;{(]|\\[nrt])([A-Za-z_][\w.-]*=)(\\+"[^"\\]*\\+"|"[^"]*"|'[^']*'|[^\s,;'"\\]+)/gm,
    replace: (m, lead, keep, value) =>
      isSensitiveKey(keep.slice(0, -1)) && !isHarmlessValue(value) ? `${lead}${keep}${REDACTED}` : m,
  },
  {
    name: 'command-line flag with a sensitive name',
    pattern: /(--([A-Za-z0-9][A-Za-z0-9-]*)(?:=|[ \t]+))(?!\[REDACTED\]|-)(\\+"[^"\\]*\\+"|"[^"]*"|'[^']*'|[^\s"'\\]+)/g,
    replace: (m, keep, flag, value) => (isSensitiveKey(flag) && !isHarmlessValue(value) ? `${keep}${REDACTED}` : m),
  },
];

export function redact(text: string): string {
  let out = text;
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replace as (substring: string, ...args: unknown[]) => string);
  return redactYamlValues(out);
}

const YAML_KEY_LINE = /^([ \t]*(?:-[ \t]+)?)(["']?)([^\s"':#{}[\],]+)\2([ \t]*:)(?:([ \t]+)(.*?))?(\r?)$/;

/** `key: value` lines (YAML, kubeconfig, `kubectl describe`); block scalars (`key: |`) lose their whole block. */
function redactYamlValues(text: string): string {
  const lines = text.split('\n');
  let blockIndent = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (blockIndent >= 0) {
      const indent = line.length - line.trimStart().length;
      if (line.trim() === '') continue;
      if (indent > blockIndent) {
        lines[i] = `${line.slice(0, indent)}${REDACTED}`;
        continue;
      }
      blockIndent = -1;
    }
    const m = YAML_KEY_LINE.exec(line);
    if (!m || !isSensitiveKey(m[3])) continue;
    const [, lead, quote, key, colon, space = '', value = '', cr] = m;
    if (value === '' || isHarmlessValue(value.replace(/\s+#.*$/, ''))) continue;
    if (/^[|>]/.test(value)) {
      blockIndent = lead.length;
      continue;
    }
    lines[i] = `${lead}${quote}${key}${quote}${colon}${space}${REDACTED}${cr}`;
  }
  return lines.join('\n');
}

/** A deep copy with sensitive members replaced and every string redacted as text. */
export function redactJson<T>(value: T): T {
  return redactValue(value, new Set()) as T;
}

function redactValue(value: unknown, ancestors: Set<object>): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (ancestors.has(value)) return '[circular]';
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const plain: unknown = toJSON.call(value); // Date, Buffer, ...: what JSON.stringify would write
    if (plain !== value) return redactValue(plain, ancestors);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((v) => redactValue(v, ancestors));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const secret = isSensitiveKey(key) && v !== null && v !== undefined && typeof v !== 'boolean';
      out[key] = secret ? REDACTED : redactValue(v, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
