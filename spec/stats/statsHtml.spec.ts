/**
 * statsHtml: one self-contained page (no script, no external asset, a Content-Security-Policy that
 * forbids loading anything), texts escaped; rendered in headless Chromium (Debian's package, driven
 * by playwright-core), it shows one histogram per task with its bars and labels, and asks for
 * nothing but itself. Where no Chromium is installed the rendering test says why it is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { dataStats, type DataStats } from '../../lib/stats/dataStats.js';
import { statsHtml } from '../../lib/stats/statsHtml.js';
import { fixtureTokenizer } from '../../lib/tokenizers/fixture.js';
import { jsonl, writeTree } from '../helpers/tmp.js';

/** Debian's chromium, or CHROMIUM_PATH. */
const browserPath = process.env['CHROMIUM_PATH'] ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const noBrowser = browserPath === undefined ? 'skipped: no Chromium on this machine (apt-get install chromium; .ci/run installs it when it can)' : false;

const stats = async (): Promise<DataStats> => {
  const root = writeTree({
    'r/faq <&> "quoted".jsonl': jsonl(
      ...Array.from({ length: 12 }, (_, i) => ({ query: `question ${i} ${'word '.repeat(i)}`, pos: [`answer ${i} ${'long '.repeat(3 * i)}`], neg: [`wrong ${i}`, `bad ${i}`], prompt: 'Find it.', type: 'normal' })),
    ),
    's/sts.jsonl': jsonl(...Array.from({ length: 8 }, (_, i) => ({ query: `sentence ${i}`, pos: [`same ${i}`], neg: [`other ${i}`], prompt: 'Same.', type: 'symmetric_sts' }))),
  });
  return dataStats({ trainData: [`${root}/r`, `${root}/s`], tokenizer: fixtureTokenizer(), seed: 3, perDeviceTrainBatchSize: 4, worldSize: 1, trainGroupSize: 3, queryMaxLen: 600, passageMaxLen: 48, indexCacheDir: null, tokenBudget: 8192 });
};

describe('statsHtml', () => {
  it('is self-contained: no script, link, src or url(), no address but the SVG namespace, and a CSP that forbids loading anything', async () => {
    const page = statsHtml(await stats());
    assert.doesNotMatch(page, /<script|<link|<img|<iframe|\ssrc=|url\(/i);
    assert.deepEqual([...new Set(page.match(/https?:\/\/[^\s"'<>]+/g))], ['http://www.w3.org/2000/svg']);
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
  });

  it('escapes the texts it shows (file names with <, &, > and quotes)', async () => {
    const page = statsHtml(await stats());
    assert.ok(page.includes('faq &lt;&amp;&gt; &quot;quoted&quot;.jsonl'));
    assert.ok(!page.includes('faq <&>'));
  });

  it('rendered in headless Chromium: one histogram per task, with bars, both panel labels, every task name; no request but the page, none failed, no console error', { skip: noBrowser }, async () => {
    const s = await stats();
    const file = join(mkdtempSync(join(tmpdir(), 'llm-retriever-data-stats-')), 'stats.html');
    writeFileSync(file, statsHtml(s));
    const browser = await chromium.launch({
      executablePath: browserPath!,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      const failed: string[] = [];
      const errors: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`file://${file}`);
      const histograms = await page.locator('svg.histogram').evaluateAll((svgs) =>
        svgs.map((svg) => {
          const box = svg.getBoundingClientRect();
          const bars = [...svg.querySelectorAll('rect.bar')].filter((r) => r.getBoundingClientRect().height > 0);
          return { width: box.width, height: box.height, bars: bars.length, labels: [...svg.querySelectorAll('text.label')].map((t) => t.textContent), title: svg.querySelector('title')?.textContent ?? '' };
        }),
      );
      assert.equal(histograms.length, s.tasks.length);
      for (const [i, h] of histograms.entries()) {
        assert.ok(h.width > 300 && h.height > 100, JSON.stringify(h));
        assert.ok(h.bars > 0, `histogram ${i} shows bars`);
        assert.deepEqual(h.labels, ['queries (with examples)', 'passages']);
        assert.equal(h.title, `Token lengths of ${s.tasks[i]!.task}`);
      }
      const text = await page.locator('body').innerText();
      for (const t of s.tasks) assert.ok(text.includes(t.task), t.task);
      assert.deepEqual(requests, [`file://${file}`]);
      assert.deepEqual(failed, []);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
});
