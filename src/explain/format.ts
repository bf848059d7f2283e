/**
 * The walk-through as text, in the tutorial's order, with the engine's numbers substituted into each
 * formula. Pure string building: the numbers come from a StepTrace.
 */
import { activationRow, type ActivationKind } from '../nn/activations.js';
import type { NodeTrace, StepTrace } from './trace.js';

const n = (v: number, d = 6): string => (Object.is(v, -0) ? 0 : v).toFixed(d);
/** The activation table's text for a node (every node past the input has an activation). */
const textOf = (node: NodeTrace) => activationRow(node.activation as ActivationKind).text;

/**
 * The trace of one training step as the text `backprop explain` prints (forward, backward, updates).
 *
 * @example
 * ```ts
 * import { formatTrace, traceStep, defaultNetwork } from 'backprop';
 * console.log(formatTrace(traceStep(defaultNetwork, [1], [0], 0.5))); // "Network 1-2-2-1 (sigmoid, …)…"
 * ```
 */
export function formatTrace(t: StepTrace): string {
  const L = t.network.layers.length;
  const byLayer = (l: number): NodeTrace[] => t.nodes.filter((x) => x.layer === l);
  const w = (layer: number, i: number, j: number) => t.weights.find((q) => q.layer === layer && q.from === i && q.to === j)!;
  const b = (layer: number, j: number) => t.biases.find((q) => q.layer === layer && q.node === j)!;
  const out: string[] = [];
  const sizes = [t.network.inputSize, ...t.network.layers.map((l) => l.biases.length)];
  out.push(`Network ${sizes.join('-')} (${t.network.layers.map((l) => l.activation).join(', ')}), learning rate α = ${t.learningRate}`);
  out.push(`Input ${JSON.stringify(t.input)}, target ${JSON.stringify(t.target)}`);
  out.push('', '── Forward pass ──');
  for (const node of byLayer(0)) out.push(`  ${node.label}: y = x_input = ${n(node.y)}   (input nodes have no activation)`);
  for (let l = 1; l <= L; l++) {
    const prev = byLayer(l - 1);
    for (const node of byLayer(l)) {
      const j = node.index;
      const terms = prev.map((p) => `${n(w(l, p.index, j).w, 4)}·${n(p.y, 4)}`).join(' + ');
      out.push(`  ${node.label}: x = Σ w_ij·y_i + b_j = ${terms} + ${n(b(l, j).b, 4)} = ${n(node.x!)}`);
      out.push(`  ${' '.repeat(node.label.length)}  y = ${textOf(node).name}(x) = ${n(node.y)}`);
    }
  }
  const outs = byLayer(L);
  out.push(`  E = Σ ½(y_out − y_target)² = ${outs.map((o, k) => `½(${n(o.y)} − ${t.target[k]})²`).join(' + ')} = ${n(t.error, 8)}`);
  out.push('', '── Backward pass ──');
  for (const [k, o] of outs.entries()) out.push(`  ${o.label}: ∂E/∂y_out = y_out − y_target = ${n(o.y)} − ${t.target[k]} = ${n(o.dEdy)}`);
  for (let l = L; l >= 1; l--) {
    for (const node of byLayer(l)) {
      out.push(`  ${node.label}: ∂E/∂x = f'(x)·∂E/∂y = ${textOf(node).df(node.x!, node.y, n)} · ${n(node.dEdy)} = ${n(node.dEdx!)}`);
    }
    const prev = byLayer(l - 1);
    for (const p of prev) for (const node of byLayer(l)) {
      const q = w(l, p.index, node.index);
      out.push(`  ∂E/∂w(${p.label}→${node.label}) = y_i·∂E/∂x_j = ${n(p.y)}·${n(node.dEdx!)} = ${n(q.dEdw)}`);
    }
    for (const node of byLayer(l)) out.push(`  ∂E/∂b(${node.label}) = ∂E/∂x_j = ${n(b(l, node.index).dEdb)}`);
    for (const p of prev) {
      const terms = byLayer(l).map((node) => `${n(w(l, p.index, node.index).w, 4)}·${n(node.dEdx!)}`).join(' + ');
      out.push(`  ${p.label}: ∂E/∂y = Σ_j w_ij·∂E/∂x_j = ${terms} = ${n(p.dEdy)}`);
    }
  }
  out.push('', `── Update: w ← w − α·∂E/∂w (α = ${t.learningRate}) ──`);
  for (const q of t.weights) out.push(`  w(n${q.layer - 1}.${q.from + 1}→n${q.layer}.${q.to + 1}): ${n(q.w)} − ${t.learningRate}·${n(q.dEdw)} = ${n(q.newW)}`);
  for (const q of t.biases) out.push(`  b(n${q.layer}.${q.node + 1}): ${n(q.b)} − ${t.learningRate}·${n(q.dEdb)} = ${n(q.newB)}`);
  out.push('', `Error before the update ${n(t.error, 8)}, after ${n(t.errorAfter, 8)}`);
  return out.join('\n');
}
