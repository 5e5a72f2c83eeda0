#!/usr/bin/env node
/**
 * A test double for a user's k6 binary (k6 itself is AGPL and never installed here). It accepts only the command
 * lines k6's documentation defines for what clusterproof uses (`k6 version`; `k6 run` with -q/--quiet, --no-color,
 * -e/--env KEY=VALUE, -o/--out json=FILE and one script path that exists) and refuses anything else with k6's
 * invalid-config exit code 104. Run, it plays a constant-arrival-rate scenario from -e SCENARIO against -e BASE_URL
 * and writes k6's documented JSON output: a "Metric" line, then one "Point" per request for http_req_duration,
 * timestamped at the request's end, tagged endpoint/method/status/expected_response/name.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

const INVALID_CONFIG = 104;
const refuse = (why) => {
  process.stderr.write(`k6 double: ${why}\n`);
  process.exit(INVALID_CONFIG);
};
const [cmd, ...rest] = process.argv.slice(2);
if (cmd === 'version') {
  console.log('k6 v1.5.0 (test double; go1.26, linux/amd64)');
  process.exit(0);
}
if (cmd !== 'run') refuse(`unknown command "${cmd}"`);
const env = {};
let out;
let script;
for (let i = 0; i < rest.length; i++) {
  const a = rest[i];
  if (a === '-q' || a === '--quiet' || a === '--no-color') continue;
  if (a === '-e' || a === '--env') {
    const kv = rest[++i] ?? refuse(`${a} needs KEY=VALUE`);
    const eq = kv.indexOf('=');
    if (eq < 1) refuse(`${a} ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else if (a === '-o' || a === '--out') {
    const o = rest[++i] ?? refuse(`${a} needs an output`);
    if (!o.startsWith('json=')) refuse(`${a} ${o}: this double knows only json=FILE`);
    out = o.slice(5);
  } else if (a.startsWith('-')) refuse(`unknown flag ${a}`);
  else if (script) refuse(`a second script argument: ${a}`);
  else script = a;
}
if (!script || !existsSync(script)) refuse(`the script ${script} does not exist`);
if (!env.BASE_URL || !env.SCENARIO) refuse('the clusterproof script needs -e BASE_URL and -e SCENARIO');
const scenario = JSON.parse(readFileSync(env.SCENARIO, 'utf8'));
if (scenario.load.executor !== 'constant-arrival-rate') refuse('this double plays constant-arrival-rate only');
const seconds = (d) => Number(/^(\d+)s$/.exec(d)?.[1] ?? refuse(`duration ${d}: this double reads "<n>s" only`));
const rate = scenario.load.rate;
const total = Math.round(rate * seconds(scenario.load.duration));
const timeoutMs = seconds(scenario.http?.timeout ?? '3s') * 1000;
const write = (o) => out && appendFileSync(out, `${JSON.stringify(o)}\n`);
if (out) writeFileSync(out, '');
write({ type: 'Metric', metric: 'http_req_duration', data: { type: 'trend', contains: 'time', thresholds: [], submetrics: null } });
const weights = scenario.endpoints.reduce((t, e) => t + e.weight, 0);
let stop = false;
process.on('SIGINT', () => (stop = true));
const inflight = [];
const t0 = Date.now();
for (let i = 0; i < total && !stop; i++) {
  const wait = t0 + (i * 1000) / rate - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  let n = Math.random() * weights;
  const e = scenario.endpoints.find((x) => (n -= x.weight) < 0) ?? scenario.endpoints[0];
  const path = e.path.replace('{unique}', `double-${i}`);
  const ranges = e.expectStatus ?? [[200, 399]];
  const sent = performance.now();
  inflight.push(
    fetch(env.BASE_URL + path, { method: e.method ?? 'GET', signal: AbortSignal.timeout(timeoutMs) })
      .then(async (r) => (await r.arrayBuffer(), r.status))
      .catch(() => 0)
      .then((status) => {
        const expected = ranges.some(([lo, hi]) => status >= lo && status <= hi);
        const tags = { endpoint: e.name, method: e.method ?? 'GET', status: String(status), expected_response: String(expected), name: env.BASE_URL + e.path, scenario: scenario.name };
        if (!status) tags.error = 'request timeout';
        write({ type: 'Point', metric: 'http_req_duration', data: { time: new Date().toISOString(), value: performance.now() - sent, tags } });
      }),
  );
}
await Promise.all(inflight);
process.exit(0);
