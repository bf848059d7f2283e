/**
 * View 1: the tutorial's 1-2-2-1 network, walked one step at a time in the tutorial's order. Every
 * number comes from the engine's `traceStep` (the same code as `backprop explain`); this file only
 * decides which numbers to show at each step, and how.
 *
 * Test hooks: each shown value carries data attributes, e.g. `data-node="n1.2" data-field="dEdx"`,
 * `data-param="w2.1.2" data-field="dEdw"` (layer 2, from node 1 to node 2), `data-field="E"`.
 */
import { ACTIVATIONS, activationKinds, activationRow, defaultNetwork, traceStep, type ActivationKind, type NetworkSpec, type NodeTrace, type StepTrace } from '../../src/index.js';
import { factorFormat, h, num, s, shortNum, svgRoot, tex, texFactor as F, texResult as R } from './dom.js';
import { numberField, parseRule, type NumberField, type Rule } from './fields.js';
import { onLangChange, t, type Key } from './i18n.js';
import type { Rejected, UrlPart } from './url-state.js';

/** The activations offered here: the rows of the activation table that carry TeX formulas. */
const offered = activationKinds.filter((k) => ACTIVATIONS[k].tex !== null);
type Field = 'x' | 'y' | 'dEdx' | 'dEdy';

interface Step {
  title: Key;
  desc: Key;
  vars?: Record<string, string | number>;
  repeat?: boolean;
  /** Lines of TeX, numbers substituted. */
  lines: string[];
  nodes: string[];
  edges: string[];
  /** Values this step computes, as "n1.2:x", "w2.1.2:dEdw", "E". */
  reveals: string[];
}

// ---- naming: n<layer>.<node> for nodes, w<layer>.<from>.<to> for the weight into <layer> -----------

const nodeId = (layer: number, index: number) => `n${layer}.${index + 1}`;
const weightId = (layer: number, from: number, to: number) => `w${layer}.${from + 1}.${to + 1}`;
const biasId = (layer: number, node: number) => `b${layer}.${node + 1}`;
const sub = (layer: number, index: number) => `${layer}.${index + 1}`;
const wTex = (layer: number, from: number, to: number) => `w_{${sub(layer - 1, from)},\\,${sub(layer, to)}}`;

/** f and f' in TeX, from the activation table. */
function fTex(kind: ActivationKind): { f: string; df: string } {
  return activationRow(kind).tex ?? { f: 'f(x) = x', df: "f'(x) = 1" };
}

/** f'(x) written with this node's numbers (the product itself is the engine's ∂E/∂x). */
function fPrimeTex(n: NodeTrace): string {
  const tex = n.activation === null ? null : activationRow(n.activation as ActivationKind).tex;
  return tex ? tex.dfAt(n.x!, n.y, factorFormat) : '1';
}

/** The tutorial's sequence of steps for one trace. */
export function buildSteps(tr: StepTrace): Step[] {
  const L = tr.network.layers.length;
  const layer = (l: number) => tr.nodes.filter((n) => n.layer === l);
  const w = (l: number, i: number, j: number) => tr.weights.find((q) => q.layer === l && q.from === i && q.to === j)!;
  const b = (l: number, j: number) => tr.biases.find((q) => q.layer === l && q.node === j)!;
  const allNodes = tr.nodes.map((n) => n.label);
  const allEdges = tr.weights.map((q) => weightId(q.layer, q.from, q.to));
  const out = layer(L);
  const steps: Step[] = [];
  const act = tr.network.layers[0]!.activation;

  steps.push({ title: 's_network', desc: 'd_network', lines: [`\\text{${[tr.network.inputSize, ...tr.network.layers.map((l) => l.biases.length)].join('-')}},\\quad \\alpha = ${F(tr.learningRate)}`], nodes: allNodes, edges: allEdges, reveals: [] });
  // A separate output activation (linear, for a ReLU or tanh network) gets its own f_out and f′_out.
  const outAct = tr.network.layers[L - 1]!.activation;
  const outLines = outAct === act ? [] : [fTex(outAct).f.replace(/^f\(/, 'f_{\\text{out}}('), fTex(outAct).df.replace(/^f'\(/, "f_{\\text{out}}'(")];
  steps.push({ title: 's_activation', desc: outAct === act ? 'd_activation' : 'd_activationOut', lines: [fTex(act).f, fTex(act).df, ...outLines], nodes: tr.nodes.filter((n) => n.layer > 0).map((n) => n.label), edges: [], reveals: [] });
  steps.push({ title: 's_errorFn', desc: 'd_errorFn', lines: ['E = \\tfrac12 \\sum_{\\text{out}} (y_{\\text{out}} - y_{\\text{target}})^2'], nodes: out.map((n) => n.label), edges: [], reveals: [] });

  // Forward.
  for (const n of layer(0)) {
    steps.push({ title: 's_input', desc: 'd_input', lines: [`y_{${sub(0, n.index)}} = x_{\\text{input}} = ${F(n.y)}`], nodes: [n.label], edges: [], reveals: [`${n.label}:y`] });
  }
  for (let l = 1; l <= L; l++) {
    for (const n of layer(l)) {
      const prev = layer(l - 1);
      const j = n.index;
      const terms = prev.map((p) => `${F(w(l, p.index, j).w, 9, true)}\\cdot ${F(p.y, 9, true)}`).join(' + ');
      const scale = Math.max(Math.abs(b(l, j).b), ...prev.map((p) => Math.abs(w(l, p.index, j).w * p.y)));
      steps.push({
        title: 's_fwd', desc: 'd_fwd', vars: { node: n.label },
        lines: [
          `x_{${sub(l, j)}} = \\sum_i w_{i,\\,${sub(l, j)}}\\, y_i + b_{${sub(l, j)}} = ${terms} + ${F(b(l, j).b, 9, true)} = ${R(n.x!, scale)}`,
          `y_{${sub(l, j)}} = f(x_{${sub(l, j)}}) = f(${R(n.x!, scale, true)}) = ${R(n.y)}`,
        ],
        nodes: [...prev.map((p) => p.label), n.label],
        edges: prev.map((p) => weightId(l, p.index, j)),
        reveals: [`${n.label}:x`, `${n.label}:y`],
      });
    }
  }
  steps.push({
    title: 's_errorValue', desc: 'd_errorValue',
    lines: [`E = ${out.map((o, k) => `\\tfrac12(${F(o.y)} - ${F(tr.target[k]!, 9, true)})^2`).join(' + ')} = ${R(tr.error)}`],
    nodes: out.map((o) => o.label), edges: [], reveals: ['E'],
  });
  steps.push({
    title: 's_rules', desc: 'd_rules',
    lines: [
      'w_{ij} \\leftarrow w_{ij} - \\alpha\\, \\frac{\\partial E}{\\partial w_{ij}}',
      '\\frac{\\partial E}{\\partial y_{\\text{out}}} = y_{\\text{out}} - y_{\\text{target}}',
      "\\frac{\\partial E}{\\partial x} = f'(x)\\,\\frac{\\partial E}{\\partial y}",
      '\\frac{\\partial E}{\\partial w_{ij}} = y_i\\,\\frac{\\partial E}{\\partial x_j}',
      '\\frac{\\partial E}{\\partial y_i} = \\sum_j w_{ij}\\,\\frac{\\partial E}{\\partial x_j}',
    ],
    nodes: allNodes, edges: allEdges, reveals: [],
  });

  // Backward.
  for (const [k, o] of out.entries()) {
    steps.push({
      title: 's_dEdyOut', desc: 'd_dEdyOut',
      lines: [`\\frac{\\partial E}{\\partial y_{${sub(L, o.index)}}} = y_{\\text{out}} - y_{\\text{target}} = ${F(o.y)} - ${F(tr.target[k]!, 9, true)} = ${R(o.dEdy, Math.max(Math.abs(o.y), Math.abs(tr.target[k]!)))}`],
      nodes: [o.label], edges: [], reveals: [`${o.label}:dEdy`],
    });
  }
  for (let l = L; l >= 1; l--) {
    const repeat = l < L;
    for (const n of layer(l)) {
      steps.push({
        title: 's_dEdx', desc: 'd_dEdx', vars: { node: n.label }, repeat,
        lines: [`\\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = f'(x)\\,\\frac{\\partial E}{\\partial y} = ${fPrimeTex(n)}\\cdot ${F(n.dEdy, 9, true)} = ${R(n.dEdx!)}`],
        nodes: [n.label], edges: [], reveals: [`${n.label}:dEdx`],
      });
    }
    const prev = layer(l - 1);
    const lines: string[] = [];
    const reveals: string[] = [];
    for (const p of prev) for (const n of layer(l)) {
      const q = w(l, p.index, n.index);
      lines.push(`\\frac{\\partial E}{\\partial ${wTex(l, p.index, n.index)}} = y_{${sub(l - 1, p.index)}}\\,\\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = ${F(p.y, 9, true)}\\cdot ${F(n.dEdx!, 9, true)} = ${R(q.dEdw)}`);
      reveals.push(`${weightId(l, p.index, n.index)}:dEdw`);
    }
    for (const n of layer(l)) {
      lines.push(`\\frac{\\partial E}{\\partial b_{${sub(l, n.index)}}} = \\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = ${F(b(l, n.index).dEdb)}`);
      reveals.push(`${biasId(l, n.index)}:dEdw`);
    }
    steps.push({
      title: 's_dEdw', desc: 'd_dEdw', vars: { layer: l }, repeat, lines,
      nodes: [...prev, ...layer(l)].map((n) => n.label),
      edges: prev.flatMap((p) => layer(l).map((n) => weightId(l, p.index, n.index))),
      reveals,
    });
    for (const p of prev) {
      const terms = layer(l).map((n) => `${F(w(l, p.index, n.index).w, 9, true)}\\cdot ${F(n.dEdx!, 9, true)}`).join(' + ');
      const scale = Math.max(...layer(l).map((n) => Math.abs(w(l, p.index, n.index).w * n.dEdx!)));
      steps.push({
        title: 's_dEdy', desc: 'd_dEdy', vars: { node: p.label }, repeat,
        lines: [`\\frac{\\partial E}{\\partial y_{${sub(l - 1, p.index)}}} = \\sum_j w_{${sub(l - 1, p.index)},\\,j}\\,\\frac{\\partial E}{\\partial x_j} = ${terms} = ${R(p.dEdy, scale)}`],
        nodes: [p.label, ...layer(l).map((n) => n.label)],
        edges: layer(l).map((n) => weightId(l, p.index, n.index)),
        reveals: [`${p.label}:dEdy`],
      });
    }
  }

  // Update: w − α·g = w′, every factor at the precision that makes the subtraction check by hand.
  const alpha = tr.learningRate;
  const upd = (v: number, g: number, nv: number) => `${F(v)} - ${F(alpha)}\\cdot ${F(g, 9, true)} = ${R(nv, Math.max(Math.abs(v), Math.abs(alpha * g)))}`;
  const lines = [
    ...tr.weights.map((q) => `${wTex(q.layer, q.from, q.to)}: ${upd(q.w, q.dEdw, q.newW)}`),
    ...tr.biases.map((q) => `b_{${sub(q.layer, q.node)}}: ${upd(q.b, q.dEdb, q.newB)}`),
    `E: ${R(tr.error)} \\to ${R(tr.errorAfter)}`,
  ];
  steps.push({
    title: 's_update', desc: 'd_update', lines, nodes: allNodes, edges: allEdges,
    reveals: [...tr.weights.map((q) => `${weightId(q.layer, q.from, q.to)}:newW`), ...tr.biases.map((q) => `${biasId(q.layer, q.node)}:newW`)],
  });
  return steps;
}

// ---- the view --------------------------------------------------------------------------------------

/** The output node's activation: the hidden layers' ('same', the tutorial's network) or its own (linear, for a ReLU or tanh net). */
type OutAct = 'same' | ActivationKind;
const outChoices: OutAct[] = ['same', ...offered, 'linear'];

interface State {
  spec: NetworkSpec;
  input: number;
  target: number;
  lr: number;
  act: ActivationKind;
  out: OutAct;
  step: number;
  /** Error before the first trained step, then after each. */
  curve: number[];
}

const DEFAULTS = { input: 1, target: 0.5, lr: 0.5, act: 'sigmoid' as ActivationKind, out: 'same' as OutAct, nsteps: 100 };
/** Limits of the fields: beyond them the tutorial's numbers stop meaning anything readable. */
const RULE_VALUE: Rule = { kind: 'real', max: 1e6 };
const RULE_LR: Rule = { kind: 'nonneg', max: 1000 };
const RULE_STEPS: Rule = { kind: 'int', min: 1, max: 5000 };
const finiteSpec = (spec: NetworkSpec) => spec.layers.every((l) => l.biases.every(Number.isFinite) && l.weights.every((r) => r.every(Number.isFinite)));
/** A field's text for a number: exact (shortest round-trip form), so a link and the field agree. */
const exact = (v: number) => String(v);

/**
 * Mount view 1 into `root`. `changed` is called after every edit of the view's state (the URL follows);
 * returns the view's part of the URL state.
 */
export function mountNetworkView(root: HTMLElement, changed: () => void = () => undefined): UrlPart {
  const st: State = { spec: structuredClone(defaultNetwork), input: DEFAULTS.input, target: DEFAULTS.target, lr: DEFAULTS.lr, act: DEFAULTS.act, out: DEFAULTS.out, step: 0, curve: [] };
  let trace: StepTrace = traceStep(st.spec, [st.input], [st.target], st.lr);
  let steps = buildSteps(trace);

  // Layout (style.css): wide, the diagram on top and the step panel beside the controls below it;
  // narrow, the step panel first and sticky, so its text and Back/Next stay on screen over the diagram.
  const diagram = h('div', { class: 'diagram', 'data-role': 'diagram' });
  const stepTitle = h('h2', { class: 'step-title', 'data-role': 'step-title', 'aria-live': 'polite' });
  const stepCounter = h('span', { class: 'step-counter', 'data-role': 'step-counter' });
  const stepDesc = h('p', { class: 'step-desc', 'data-role': 'step-desc' });
  const formulas = h('div', { class: 'formulas', 'data-role': 'formulas' });
  const backBtn = h('button', { type: 'button', 'data-action': 'back' });
  const nextBtn = h('button', { type: 'button', 'data-action': 'next', class: 'primary' });
  // Restart: an icon and a word; below 560 px only the icon (the word stays its accessible name).
  const restartWord = h('span', { class: 'restart-word' });
  const restartBtn = h('button', { type: 'button', 'data-action': 'restart' }, h('span', { 'aria-hidden': 'true' }, '↺ '), restartWord);
  const stepPanel = h('div', { class: 'panel step-panel', 'data-role': 'step-panel' },
    h('div', { class: 'step-nav' }, backBtn, stepCounter, nextBtn, restartBtn), stepTitle, stepDesc, formulas);

  const inputF = numberField('input', RULE_VALUE, st.input, exact), targetF = numberField('target', RULE_VALUE, st.target, exact), lrF = numberField('lr', RULE_LR, st.lr, exact);
  const actEl = h('select', { 'data-edit': 'activation' }, ...offered.map((a) => h('option', { value: a }, a)));
  const outEl = h('select', { 'data-edit': 'outActivation' }, ...outChoices.map((a) => h('option', { value: a }, a)));
  const nStepsF = numberField('nsteps', RULE_STEPS, DEFAULTS.nsteps, String, { keeps: false });
  const applyBtn = h('button', { type: 'button', 'data-action': 'apply' });
  const trainBtn = h('button', { type: 'button', 'data-action': 'train', class: 'primary' });
  const resetBtn = h('button', { type: 'button', 'data-action': 'reset' });
  const trainNote = h('p', { class: 'train-note', 'data-role': 'train-note', role: 'status' });
  const labels: [HTMLElement, Key][] = [];
  const label = (key: Key, control: HTMLElement, error?: HTMLElement) => { const span = h('span'); labels.push([span, key]); return h('label', {}, span, control, ...(error ? [error] : [])); };
  const paramBody = h('tbody');
  const paramHead = h('thead');
  const paramsTitle = h('h3');
  const stepsLabel = h('span', { 'data-role': 'nsteps-label' });
  const controls = h('div', { class: 'panel controls' },
    h('div', { class: 'fields' }, label('input', inputF.input, inputF.error), label('target', targetF.input, targetF.error), label('lr', lrF.input, lrF.error),
      label('activation', actEl), label('outActivation', outEl)),
    h('div', { class: 'train-row' }, applyBtn, trainBtn, h('label', { class: 'inline' }, nStepsF.input, stepsLabel), resetBtn),
    nStepsF.error, trainNote,
    paramsTitle, h('div', { class: 'table-wrap' }, h('table', { class: 'params' }, paramHead, paramBody)));
  nStepsF.input.classList.add('steps-field');
  const curveTitle = h('h3');
  const curve = h('div', { class: 'curve', 'data-role': 'curve' });
  const curvePanel = h('div', { class: 'panel curve-panel' }, curveTitle, curve);
  root.append(h('div', { class: 'net-layout' }, stepPanel, diagram, controls, curvePanel));

  // Parameter table: built once (the network's shape never changes here), values refreshed.
  const paramFields = new Map<string, NumberField>();
  const paramRows: { id: string; layer: number; i: number; j: number; isBias: boolean }[] = [];
  st.spec.layers.forEach((ls, k) => {
    const l = k + 1;
    ls.weights.forEach((row, i) => row.forEach((_, j) => paramRows.push({ id: weightId(l, i, j), layer: l, i, j, isBias: false })));
    ls.biases.forEach((_, j) => paramRows.push({ id: biasId(l, j), layer: l, i: -1, j, isBias: true }));
  });
  const paramOf = (spec: NetworkSpec, r: (typeof paramRows)[number]) => (r.isBias ? spec.layers[r.layer - 1]!.biases[r.j]! : spec.layers[r.layer - 1]!.weights[r.i]![r.j]!);
  for (const r of paramRows) {
    // Trained weights have 17 digits; the field shows 6 significant (the value in use stays exact).
    const f = numberField(r.id, RULE_VALUE, paramOf(st.spec, r), (v) => String(+v.toPrecision(6)));

    paramFields.set(r.id, f);
    const name = h('td', { class: 'pname' });
    tex(name, r.isBias ? `b_{${sub(r.layer, r.j)}}` : wTex(r.layer, r.i, r.j));
    paramBody.append(h('tr', {}, name, h('td', {}, f.input, f.error), h('td', { class: 'num', 'data-param': r.id, 'data-field': 'dEdw' }), h('td', { class: 'num', 'data-param': r.id, 'data-field': 'newW' })));
  }

  function revealed(): Set<string> {
    const set = new Set<string>();
    for (const s of steps.slice(0, st.step + 1)) for (const r of s.reveals) set.add(r);
    return set;
  }

  /** The activations into the spec: hidden layers `act`, the output `out` (or `act`). */
  function applyActivations(): void {
    st.spec.layers.forEach((l, k) => { l.activation = k === st.spec.layers.length - 1 && st.out !== 'same' ? st.out : st.act; });
  }

  function recompute(): void {
    trace = traceStep(st.spec, [st.input], [st.target], st.lr);
    steps = buildSteps(trace);
    st.step = Math.min(st.step, steps.length - 1);
    render();
  }

  /** The state changed from elsewhere (training, reset, a link): every field shows it, no message left. */
  function refreshFields(): void {
    inputF.set(st.input); targetF.set(st.target); lrF.set(st.lr);
    for (const r of paramRows) paramFields.get(r.id)!.set(paramOf(st.spec, r));
  }

  function renderParams(shown: Set<string>): void {
    for (const r of paramRows) {
      const f = paramFields.get(r.id)!;
      const g = r.isBias ? trace.biases.find((q) => q.layer === r.layer && q.node === r.j)!.dEdb : trace.weights.find((q) => q.layer === r.layer && q.from === r.i && q.to === r.j)!.dEdw;
      const nw = r.isBias ? trace.biases.find((q) => q.layer === r.layer && q.node === r.j)!.newB : trace.weights.find((q) => q.layer === r.layer && q.from === r.i && q.to === r.j)!.newW;
      const row = f.input.closest('tr')!;
      row.querySelector<HTMLElement>('[data-field="dEdw"]')!.textContent = shown.has(`${r.id}:dEdw`) ? num(g) : '?';
      row.querySelector<HTMLElement>('[data-field="newW"]')!.textContent = shown.has(`${r.id}:newW`) ? num(nw) : '?';
    }
  }

  function renderDiagram(step: Step, shown: Set<string>): void {
    const width = Math.max(300, Math.min(diagram.clientWidth || 900, 1100));
    const vertical = width < 640;
    const NW = 150, NH = 100;
    const sizes = [trace.network.inputSize, ...trace.network.layers.map((l) => l.biases.length)];
    const L = sizes.length;
    const maxN = Math.max(...sizes);
    const gap = 56;
    const errW = 130, errH = 44;
    const height = vertical ? L * NH + (L - 1) * 90 + errH + 40 : maxN * NH + (maxN - 1) * gap + 24;
    const pos = (l: number, i: number): { x: number; y: number } => {
      const n = sizes[l]!;
      if (vertical) {
        const slot = width / n;
        return { x: slot * (i + 0.5) - NW / 2, y: 8 + l * (NH + 90) };
      }
      const usable = width - errW - 24;
      const colX = 4 + (l * (usable - NW)) / (L - 1);
      const total = n * NH + (n - 1) * gap;
      return { x: colX, y: (height - total) / 2 + i * (NH + gap) };
    };
    const svg = svgRoot(width, height, { class: 'net', role: 'img', 'aria-label': t('diagramLabel', { title: t(step.title, step.vars) }) });
    const hlNodes = new Set(step.nodes), hlEdges = new Set(step.edges);
    const finiteW = trace.weights.map((q) => Math.abs(q.w)).filter(Number.isFinite);
    const maxW = Math.max(1e-9, ...finiteW);
    const haloLayer = s('g', {}, svg), edgeLayer = s('g', {}, svg), labelLayer = s('g', {}, svg), nodeLayer = s('g', {}, svg);

    for (const q of trace.weights) {
      const a = pos(q.layer - 1, q.from), b = pos(q.layer, q.to);
      const [x1, y1, x2, y2] = vertical ? [a.x + NW / 2, a.y + NH, b.x + NW / 2, b.y] : [a.x + NW, a.y + NH / 2, b.x, b.y + NH / 2];
      const id = weightId(q.layer, q.from, q.to);
      const hl = hlEdges.has(id);
      const width = 1 + 5 * Math.min(1, Math.abs(q.w) / maxW);
      // The edge keeps its sign's colour (blue +, red −) when highlighted; the highlight is a halo under it.
      if (hl) s('line', { x1, y1, x2, y2, class: 'edge-halo', 'stroke-width': (width + 7).toFixed(2) }, haloLayer);
      s('line', { x1, y1, x2, y2, class: `edge ${q.w >= 0 ? 'pos' : 'neg'}${hl ? ' hl' : ''}`, 'stroke-width': width.toFixed(2), 'data-edge': id, 'data-sign': q.w >= 0 ? 'pos' : 'neg' }, edgeLayer);
      const f = vertical ? 0.36 : 0.27;
      const lx = x1 + (x2 - x1) * f, ly = y1 + (y2 - y1) * f;
      const g = s('g', { class: `wlabel${hl ? ' hl' : ''}` }, labelLayer);
      const text = shortNum(q.w);
      const bw = Math.max(48, 7 * text.length + 8);
      s('rect', { x: lx - bw / 2, y: ly - 9, width: bw, height: 18, rx: 4 }, g);
      s('text', { x: lx, y: ly + 4, 'text-anchor': 'middle', class: 'lbl', 'data-edge': id, 'data-field': 'w' }, g, text);
    }

    const rows: [Field, string][] = [['x', 'x'], ['y', 'y'], ['dEdx', '∂E/∂x'], ['dEdy', '∂E/∂y']];
    for (const n of trace.nodes) {
      const p = pos(n.layer, n.index);
      const g = s('g', { class: `node${hlNodes.has(n.label) ? ' hl' : ''}`, 'data-node-box': n.label }, nodeLayer);
      s('rect', { x: p.x, y: p.y, width: NW, height: NH, rx: 8 }, g);
      s('text', { x: p.x + 8, y: p.y + 16, class: 'lbl head' }, g, n.label);
      const bias = n.layer > 0 ? trace.biases.find((q) => q.layer === n.layer && q.node === n.index)!.b : null;
      s('text', { x: p.x + NW - 8, y: p.y + 16, 'text-anchor': 'end', class: 'lbl bias', 'data-node': n.label, 'data-field': 'b' }, g, bias === null ? t('input') : `b ${shortNum(bias)}`);
      rows.forEach(([field, name], r) => {
        const y = p.y + 36 + r * 17;
        const v = n[field];
        const known = v !== null && shown.has(`${n.label}:${field}`);
        const focus = step.reveals.includes(`${n.label}:${field}`);
        s('text', { x: p.x + 8, y, class: `lbl fname${focus ? ' focus' : ''}` }, g, name);
        s('text', { x: p.x + NW - 8, y, 'text-anchor': 'end', class: `lbl val${focus ? ' focus' : ''}`, 'data-node': n.label, 'data-field': field }, g, v === null ? '—' : known ? num(v) : '?');
      });
    }
    // The error, beside (or below) the output node.
    const o = pos(L - 1, 0);
    const [ex, ey] = vertical ? [width / 2 - errW / 2, o.y + NH + 28] : [o.x + NW + 20, o.y + NH / 2 - errH / 2];
    const g = s('g', { class: `node err${step.reveals.includes('E') ? ' hl' : ''}` }, nodeLayer);
    s('rect', { x: ex, y: ey, width: errW, height: errH, rx: 8 }, g);
    s('text', { x: ex + 8, y: ey + 17, class: 'lbl head' }, g, `E (${t('errorShort')})`);
    s('text', { x: ex + errW - 8, y: ey + 35, 'text-anchor': 'end', class: 'lbl val', 'data-field': 'E' }, g, shown.has('E') ? num(trace.error, Math.abs(trace.error) < 1e3 ? 8 : 6) : '?');
    if (vertical) s('line', { x1: width / 2, y1: o.y + NH, x2: width / 2, y2: ey, class: 'edge err-link' }, edgeLayer);
    else s('line', { x1: o.x + NW, y1: o.y + NH / 2, x2: ex, y2: ey + errH / 2, class: 'edge err-link' }, edgeLayer);
    diagram.replaceChildren(svg);
  }

  function renderCurve(): void {
    curveTitle.textContent = t('curveTitle');
    if (st.curve.length < 2) { curve.replaceChildren(h('p', { class: 'muted' }, t('curveEmpty'))); return; }
    const width = Math.max(280, Math.min(curve.clientWidth || 600, 900)), height = 180;
    const m = { l: 62, r: 12, t: 10, b: 28 };
    const svg = svgRoot(width, height, { class: 'chart', role: 'img', 'aria-label': t('curveTitle') });
    const maxE = Math.max(...st.curve), n = st.curve.length - 1;
    const X = (i: number) => m.l + (i / n) * (width - m.l - m.r);
    const Y = (e: number) => m.t + (1 - e / maxE) * (height - m.t - m.b);
    s('line', { x1: m.l, y1: Y(0), x2: width - m.r, y2: Y(0), class: 'axis' }, svg);
    s('line', { x1: m.l, y1: m.t, x2: m.l, y2: Y(0), class: 'axis' }, svg);
    s('text', { x: m.l - 6, y: Y(maxE) + 10, 'text-anchor': 'end', class: 'lbl tick' }, svg, maxE.toExponential(2));
    s('text', { x: m.l - 6, y: Y(0), 'text-anchor': 'end', class: 'lbl tick' }, svg, '0');
    s('text', { x: width - m.r, y: height - 8, 'text-anchor': 'end', class: 'lbl tick' }, svg, `${n} ${t('curveStep')}`);
    s('polyline', { points: st.curve.map((e, i) => `${X(i).toFixed(1)},${Y(e).toFixed(1)}`).join(' '), class: 'curve-line' }, svg);
    s('text', { x: width - m.r, y: m.t + 12, 'text-anchor': 'end', class: 'lbl tick', 'data-field': 'trainError' }, svg, `E = ${st.curve.at(-1)!.toExponential(4)}`);
    curve.replaceChildren(svg);
  }

  let note: { key: Key; vars: Record<string, string | number> } | null = null;
  function render(): void {
    const step = steps[st.step]!;
    const shown = revealed();
    stepCounter.textContent = t('stepOf', { i: st.step + 1, n: steps.length });
    stepCounter.dataset.step = String(st.step);
    stepCounter.dataset.count = String(steps.length);
    stepTitle.textContent = (step.repeat ? t('repeat') : '') + t(step.title, step.vars);
    stepTitle.dataset.kind = step.title;
    stepDesc.textContent = t(step.desc, step.vars);
    formulas.replaceChildren(...step.lines.map((line) => { const d = h('div', { class: 'formula', 'data-tex': line }); tex(d, line); return d; }));
    formulas.classList.toggle('many', step.lines.length > 4);
    backBtn.textContent = t('back'); nextBtn.textContent = t('next'); restartWord.textContent = t('restart');
    restartBtn.setAttribute('aria-label', t('restart'));
    // A button that disables under the keyboard focus hands the focus to its partner, not to <body>.
    const focused = document.activeElement;
    backBtn.disabled = st.step === 0; nextBtn.disabled = st.step === steps.length - 1;
    if (focused === nextBtn && nextBtn.disabled) backBtn.focus();
    if (focused === backBtn && backBtn.disabled) nextBtn.focus();
    applyBtn.textContent = t('applyUpdate'); trainBtn.textContent = t('train'); resetBtn.textContent = t('resetNet');
    stepsLabel.textContent = t('trainSteps');
    for (const [el, key] of labels) el.textContent = t(key);
    paramsTitle.textContent = t('paramsTitle');
    paramHead.replaceChildren(h('tr', {}, h('th', {}, t('colParam')), h('th', {}, t('colValue')), h('th', {}, t('colGrad')), h('th', {}, t('colNew'))));
    actEl.value = st.act;
    outEl.value = st.out;
    outEl.options[0]!.textContent = t('outSame');
    trainNote.textContent = note ? t(note.key, note.vars) : '';
    for (const f of [inputF, targetF, lrF, nStepsF, ...paramFields.values()]) f.relabel();
    for (const r of paramRows) paramFields.get(r.id)!.input.setAttribute('aria-label', t(r.isBias ? 'biasLabel' : 'weightLabel', { id: r.id }));
    nStepsF.input.setAttribute('aria-label', t('trainStepsLabel'));
    renderDiagram(step, shown);
    renderParams(shown);
    renderCurve();
  }

  const go = (k: number) => {
    const to = Math.max(0, Math.min(steps.length - 1, k));
    if (to === st.step) return;
    st.step = to; render(); changed();
  };
  backBtn.addEventListener('click', () => go(st.step - 1));
  nextBtn.addEventListener('click', () => go(st.step + 1));
  restartBtn.addEventListener('click', () => go(0));
  // Arrow keys step through the walk whenever this view is shown, unless a form control has the focus
  // (there the keys edit: a select's ArrowRight changes its value and must not also step).
  document.addEventListener('keydown', (e) => {
    if (root.hidden || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const target = e.target as HTMLElement;
    if (target.closest('input, select, textarea, [role="tab"]')) return;
    if (e.key === 'ArrowRight') { go(st.step + 1); e.preventDefault(); }
    if (e.key === 'ArrowLeft') { go(st.step - 1); e.preventDefault(); }
  });

  /** An edit of the state: recompute, render, tell the URL. */
  const edited = () => { note = null; recompute(); changed(); };
  const onEdit = (f: NumberField, current: () => number, apply: (v: number) => void) => {
    f.input.addEventListener('input', () => { const v = f.read(current()); if (v !== null) { apply(v); edited(); } });
  };
  onEdit(inputF, () => st.input, (v) => { st.input = v; });
  onEdit(targetF, () => st.target, (v) => { st.target = v; });
  onEdit(lrF, () => st.lr, (v) => { st.lr = v; });
  for (const r of paramRows) {
    onEdit(paramFields.get(r.id)!, () => paramOf(st.spec, r), (v) => {
      const spec = st.spec.layers[r.layer - 1]!;
      if (r.isBias) spec.biases[r.j] = v; else spec.weights[r.i]![r.j] = v;
    });
  }
  nStepsF.input.addEventListener('input', () => { nStepsF.read(lastSteps); });
  let lastSteps = DEFAULTS.nsteps;
  actEl.addEventListener('change', () => { st.act = actEl.value as ActivationKind; applyActivations(); st.curve = []; edited(); });
  outEl.addEventListener('change', () => { st.out = outEl.value as OutAct; applyActivations(); st.curve = []; edited(); });

  /** Take up to `n` steps; stops before a step whose numbers overflow (and says so). */
  const train = (n: number) => {
    let spec = st.spec, k = 0;
    note = null;
    for (; k < n; k++) {
      const tr = traceStep(spec, [st.input], [st.target], st.lr);
      if (!finiteSpec(tr.updated) || !Number.isFinite(tr.errorAfter)) { note = { key: 'trainDiverged', vars: { step: k + 1 } }; break; }
      if (st.curve.length === 0) st.curve.push(tr.error);
      st.curve.push(tr.errorAfter);
      spec = tr.updated;
    }
    st.spec = spec;
    refreshFields();
    recompute();
    changed();
  };
  applyBtn.addEventListener('click', () => train(1));
  trainBtn.addEventListener('click', () => {
    const n = nStepsF.read(lastSteps);
    if (n === null) { nStepsF.input.focus(); return; }
    lastSteps = n;
    train(n);
  });
  resetBtn.addEventListener('click', () => {
    st.spec = structuredClone(defaultNetwork);
    applyActivations();
    st.curve = [];
    note = null;
    refreshFields();
    recompute();
    changed();
  });

  onLangChange(render);
  let lastWidth = 0;
  new ResizeObserver(() => {
    const w = diagram.clientWidth;
    if (w !== lastWidth) { lastWidth = w; render(); }
  }).observe(diagram);
  render();

  // ---- the URL: step, input, target, lr, act, out, w (every weight and bias, in the table's order) ----
  const KEYS = ['step', 'input', 'target', 'lr', 'act', 'out', 'w'] as const;
  const paramsOf = (spec: NetworkSpec) => paramRows.map((r) => paramOf(spec, r));
  return {
    keys: KEYS,
    get() {
      const out: Record<string, string> = {};
      if (st.step > 0) out.step = String(st.step + 1);
      if (st.input !== DEFAULTS.input) out.input = exact(st.input);
      if (st.target !== DEFAULTS.target) out.target = exact(st.target);
      if (st.lr !== DEFAULTS.lr) out.lr = exact(st.lr);
      if (st.act !== DEFAULTS.act) out.act = st.act;
      if (st.out !== DEFAULTS.out) out.out = st.out;
      const w = paramsOf(st.spec), w0 = paramsOf(defaultNetwork);
      if (w.some((v, i) => v !== w0[i])) out.w = w.map(exact).join(',');
      return out;
    },
    set(p) {
      const rejected: Rejected[] = [];
      const num = (key: string, rule: Rule, fallback: number): number => {
        const raw = p.get(key);
        if (raw === null) return fallback;
        const r = parseRule(raw, rule);
        if (r.ok) return r.value;
        rejected.push({ key, value: raw, why: r.why });
        return fallback;
      };
      const choice = <T extends string>(key: string, options: readonly T[], fallback: T): T => {
        const raw = p.get(key);
        if (raw === null) return fallback;
        if ((options as readonly string[]).includes(raw)) return raw as T;
        rejected.push({ key, value: raw, why: t('errChoice', { options: options.join(', ') }) });
        return fallback;
      };
      st.input = num('input', RULE_VALUE, DEFAULTS.input);
      st.target = num('target', RULE_VALUE, DEFAULTS.target);
      st.lr = num('lr', RULE_LR, DEFAULTS.lr);
      st.act = choice('act', offered, DEFAULTS.act);
      st.out = choice('out', outChoices, DEFAULTS.out);
      let values = paramsOf(defaultNetwork);
      const raw = p.get('w');
      if (raw !== null) {
        const parts = raw.split(',');
        const parsed = parts.map((x) => parseRule(x, RULE_VALUE));
        const bad = parsed.findIndex((r) => !r.ok);
        if (parts.length !== paramRows.length) rejected.push({ key: 'w', value: raw, why: t('errCount', { n: paramRows.length }) });
        else if (bad >= 0) rejected.push({ key: 'w', value: raw, why: `${paramRows[bad]!.id}: ${(parsed[bad] as { why: string }).why}` });
        else values = parsed.map((r) => (r as { value: number }).value);
      }
      const spec: NetworkSpec = structuredClone(defaultNetwork);
      paramRows.forEach((r, i) => { if (r.isBias) spec.layers[r.layer - 1]!.biases[r.j] = values[i]!; else spec.layers[r.layer - 1]!.weights[r.i]![r.j] = values[i]!; });
      const changedSpec = paramsOf(st.spec).some((v, i) => v !== values[i]);
      st.spec = spec;
      applyActivations();
      if (changedSpec) st.curve = [];
      note = null;
      refreshFields();
      trace = traceStep(st.spec, [st.input], [st.target], st.lr);
      steps = buildSteps(trace);
      st.step = num('step', { kind: 'int', min: 1, max: steps.length }, 1) - 1;
      actEl.value = st.act; outEl.value = st.out;
      render();
      return rejected;
    },
  };
}
