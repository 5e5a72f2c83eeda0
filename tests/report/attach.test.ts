import { getGlobalTestRuntime, setGlobalTestRuntime, type TestRuntime } from 'allure-js-commons/sdk/runtime';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { attachJson, attachSvg, attachText, attachTimeline } from '../../core/report/attach.ts';
import { sampleTimeline } from './sample-timeline.ts';

interface AttachmentMessage {
  type: string;
  data: { name: string; content: string; contentType: string; fileExtension?: string };
}

/** What allure-vitest queued for the current test (it writes these to the results when the test ends). */
function attachedTo(meta: object): Array<{ name: string; contentType: string; fileExtension?: string; text: string }> {
  const messages = ((meta as Record<string, unknown>).allureRuntimeMessages ?? []) as AttachmentMessage[];
  return messages
    .filter((m) => m.type === 'attachment_content')
    .map(({ data }) => ({ ...data, text: Buffer.from(data.content, 'base64').toString('utf8') }));
}

describe('attach helpers', () => {
  let realRuntime: TestRuntime;
  beforeEach(() => {
    realRuntime = getGlobalTestRuntime(); // allure-vitest installs its runtime in a beforeAll
  });
  afterEach(() => {
    setGlobalTestRuntime(realRuntime);
    vi.restoreAllMocks();
  });

  test('attach text, JSON and SVG to the current test, redacted', async ({ task }) => {
    await attachText('kubectl output', 'Authorization: Bearer abc123.def');
    await attachJson('access', { url: 'https://u:pw@pve.lab:8006', token: 'root@pam!ci=1234' });
    await attachSvg('chart', '<svg xmlns="http://www.w3.org/2000/svg"><text>Bearer abc123.def</text></svg>');
    const [text, json, svg] = attachedTo(task.meta);
    expect(text).toMatchObject({ name: 'kubectl output', contentType: 'text/plain', fileExtension: 'txt' });
    expect(text.text).toBe('Authorization: [REDACTED]');
    expect(json).toMatchObject({ name: 'access', contentType: 'application/json', fileExtension: 'json' });
    expect(JSON.parse(json.text)).toEqual({ url: 'https://u:[REDACTED]@pve.lab:8006', token: '[REDACTED]' });
    expect(svg).toMatchObject({ name: 'chart', contentType: 'image/svg+xml', fileExtension: 'svg' });
    expect(svg.text).toContain('<text>Bearer [REDACTED]</text>');
  });

  test('attachTimeline attaches the chart and the data, both made from redacted data', async ({ task }) => {
    const timeline = sampleTimeline();
    timeline.marks[1].detail = 'PVEAPIToken=ci@pve!nightly=0b2b6c9e-9a52-4c52-8b6a-3f0e7d8f1a2b';
    await attachTimeline(timeline);
    const [svg, json] = attachedTo(task.meta);
    expect(svg.name).toBe(`timeline: ${timeline.experiment}`);
    expect(svg.contentType).toBe('image/svg+xml');
    expect(svg.text).toContain('>power off cp2 (etcd leader) 2 s</text>');
    expect(json.name).toBe(`timeline data: ${timeline.experiment}`);
    expect(JSON.parse(json.text).marks[1].detail).toBe('PVEAPIToken=ci@pve!nightly=[REDACTED]');
    for (const a of [svg, json]) expect(a.text).not.toContain('0b2b6c9e');
  });

  test('outside a test (no Allure runtime) nothing throws', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    setGlobalTestRuntime(undefined as unknown as TestRuntime); // what a plain node process sees
    await expect(attachText('t', 'x')).resolves.toBeUndefined();
    await expect(attachTimeline(sampleTimeline())).resolves.toBeUndefined();
    expect(log).toHaveBeenCalled(); // allure-js-commons' "no test runtime is found" warning
  });

  test('a failing reporter never fails the test that attaches', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    setGlobalTestRuntime({
      attachment: () => Promise.reject(new Error('disk full')),
    } as unknown as TestRuntime);
    await expect(attachJson('evidence', { a: 1 })).resolves.toBeUndefined();
    await expect(attachTimeline(sampleTimeline())).resolves.toBeUndefined();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('could not attach "evidence" to the report: disk full'));
  });
});
