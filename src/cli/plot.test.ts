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
