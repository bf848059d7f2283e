// Learning-curve SVG: well-formed, with axes, labels, legend and one point per epoch and series.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../errors.js';
import { learningCurveSvg, niceTicks, parseTrainLog } from './plot.js';

const log = [
  { epoch: 1, trainPerplexity: 900, validPerplexity: 600 },
  { epoch: 2, trainPerplexity: 400, validPerplexity: 350 },
  { epoch: 3, trainPerplexity: 250, validPerplexity: 280 },
].map((r) => JSON.stringify(r)).join('\n') + '\n' + JSON.stringify({ test: true, perplexity: 275.5 }) + '\n';

test('learningCurveSvg draws both curves, axes, labels and a legend', () => {
  const svg = learningCurveSvg(parseTrainLog(log, 'x.jsonl'), { title: 'run <1>' });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.equal((svg.match(/<circle/g) ?? []).length, 6);
  for (const s of ['>epoch<', 'perplexity (log scale)', 'train (250.00)', 'validation (280.00)', 'test perplexity 275.50', 'run &lt;1&gt;']) {
    assert.ok(svg.includes(s), s);
  }
});

test('a third curve for test perplexity when the epochs recorded it', () => {
  const withTest = log.split('\n').filter((l) => l.includes('"epoch"')).map((l, i) => JSON.stringify({ ...JSON.parse(l), testPerplexity: [500, 300, 260][i] })).join('\n') + '\n';
  const svg = learningCurveSvg(parseTrainLog(withTest, 'y.jsonl'));
  assert.equal((svg.match(/<polyline/g) ?? []).length, 3);
  assert.equal((svg.match(/<circle/g) ?? []).length, 9);
  assert.ok(svg.includes('test (260.00)'));
});

test('parseTrainLog names the file and line of a bad record', () => {
  assert.throws(() => parseTrainLog('{"epoch":1,"trainPerplexity":2,"validPerplexity":3}\nnot json\n', 'r.jsonl'), (e: Error) => e instanceof DataError && /r\.jsonl:2/.test(e.message));
  assert.throws(() => parseTrainLog('\n', 'e.jsonl'), (e: Error) => e instanceof DataError && /no epoch records/.test(e.message));
});

test('niceTicks gives 1-2-5 steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(3.2, 4.1, 4), [3.5, 4]);
  assert.deepEqual(niceTicks(3.2, 4.1, 8), [3.2, 3.4, 3.6, 3.8, 4]);
});

test('a log with a header, validation checks and NT-ASGD\'s switch: the checks are drawn between epochs, the switch as a line', () => {
  const lines = [
    { header: true, version: '0.1.0', config: { name: 'x' }, data: {} },
    { progress: true, epoch: 1, window: 5, windowsDone: 5, trainNats: 6, trainPerplexity: 403, tokens: 100, lr: 1 },
    { check: true, epoch: 1, window: 5, windowsDone: 5, validPerplexity: 700, validNats: 6.5, averaged: false },
    { epoch: 1, trainPerplexity: 900, validPerplexity: 600, windows: 10 },
    { check: true, epoch: 2, window: 5, windowsDone: 15, validPerplexity: 650, validNats: 6.4, averaged: false, ntAsgdSwitch: true },
    { epoch: 2, trainPerplexity: 400, validPerplexity: 350, windows: 10, averaged: true },
  ].map((r) => JSON.stringify(r)).join('\n') + '\n';
  const parsed = parseTrainLog(lines, 'c.jsonl');
  assert.deepEqual([parsed.header?.version, parsed.epochs.length, parsed.checks.length, parsed.progress.length], ['0.1.0', 2, 2, 1]);
  const svg = learningCurveSvg(parsed);
  assert.equal((svg.match(/<circle[^>]*fill="white"/g) ?? []).length, 2);
  assert.ok(svg.includes('>NT-ASGD<'));
  assert.throws(() => parseTrainLog(lines.split('\n').reverse().join('\n'), 'r.jsonl'), (e: Error) => e instanceof DataError && /a header line after the first line/.test(e.message));
});
