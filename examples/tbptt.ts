// Train an LSTM with truncated BPTT(k1, k2) on a memory task (recall the token seen 4 steps ago) and print
// the gradient norm ‖∂E/∂h_t‖ at every step t of the last window: watch it shrink with distance.
// Run: npm run build && node dist/examples/tbptt.js [k1] [k2]
import { Adam, LanguageModel, Rng, TruncatedBPTT } from '../src/index.js';

const k1 = Number(process.argv[2] ?? 2), k2 = Number(process.argv[3] ?? 8);
const V = 4, d = 4, B = 16;
const rng = new Rng(21);
const model = new LanguageModel({ vocabSize: V, embedSize: 8, hiddenSize: 24, numLayers: 1, cell: 'lstm', keepProb: 1, forgetBias: 1, initScale: 0.2 }, new Rng(7));
const trainer = new TruncatedBPTT(model, new Adam(model, { lr: 0.01 }), { k1, k2, batchSize: B, maxGradNorm: 5, diagnostics: true });
const hist: number[][] = Array.from({ length: B }, () => []);
let correct = 0, seen = 0;
for (let step = 1; step <= 1600; step++) {
  const x = new Int32Array(B), y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    hist[b]!.push(rng.int(V));
    x[b] = hist[b]!.at(-1)!;
    y[b] = hist[b]!.length > d ? hist[b]!.at(-1 - d)! : 0;
  }
  const { costs, updates } = trainer.feed(x, y, 1);
  for (const c of costs) { correct += Math.exp(-c); seen++; }
  if (step % 400 === 0 && updates.length) {
    const u = updates[0]!;
    console.log(`step ${step}: loss ${u.loss.toFixed(3)}, mean p(target) ${(correct / seen).toFixed(3)}, grad norm ${u.gradNorm.toFixed(3)}${u.clipped ? ' (clipped)' : ''}`);
    console.log('  ‖∂E/∂h_t‖ over the window (oldest → newest): ' + u.hGradNorms![0]!.map((n) => n.toExponential(2)).join('  '));
    correct = 0; seen = 0;
  }
}
console.log(`updates ${trainer.totals.updates}, clipped ${trainer.totals.clipped}`);
