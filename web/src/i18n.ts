/**
 * Every UI string, one table per language. The Chinese table is typed by the English one's keys, so a
 * string missing from either language does not compile. `{name}` placeholders are filled by `t()`.
 */
export type Lang = 'en' | 'zh';

const en = {
  title: 'backprop explorer',
  tabNet: "The tutorial's network",
  tabBptt: 'Backpropagation through time',
  langButton: '中文',
  // View 1: controls
  stepOf: 'Step {i} of {n}',
  back: '◀ Back',
  next: 'Next ▶',
  restart: 'Restart',
  input: 'Input x',
  target: 'Target',
  lr: 'Learning rate α',
  activation: 'Activation',
  applyUpdate: 'Apply update',
  train: 'Train',
  trainSteps: 'steps',
  resetNet: 'Reset network',
  paramsTitle: 'Weights and biases (editable)',
  colParam: 'parameter',
  colValue: 'value',
  colGrad: '∂E/∂w',
  colNew: 'after update',
  curveTitle: 'Error E during training',
  curveEmpty: 'Train some steps to see the error fall.',
  curveStep: 'step',
  errorShort: 'error',
  // View 1: the walk
  s_network: 'The network',
  d_network: 'One input node, two hidden layers of two nodes, one output node. Each edge carries a weight w (thickness: |w|; blue positive, red negative), each node a bias b. Every node shows its x (summed input), y (output), ∂E/∂x and ∂E/∂y; “?” marks what the walk has not computed yet.',
  s_activation: 'The activation function',
  d_activation: 'Every node after the input applies f to its summed input x to get its output y = f(x). The backward pass needs its derivative f′(x), written with y.',
  s_errorFn: 'The error function',
  d_errorFn: 'The error compares the output with the target. Training lowers E.',
  s_input: 'Forward pass: the input node',
  d_input: 'An input node has no activation: its output is the input value.',
  s_fwd: 'Forward pass: node {node}',
  d_fwd: 'Sum the previous layer’s outputs, each times its weight, add the bias: that is x. Then y = f(x).',
  s_errorValue: 'Forward pass: the error',
  d_errorValue: 'With the output computed, evaluate the error.',
  s_rules: 'Error derivatives and the update rule',
  d_rules: 'To lower E, move every weight against its derivative ∂E/∂w, scaled by the learning rate α. Backpropagation finds every ∂E/∂w in one sweep from the output back to the input, using four rules.',
  s_dEdyOut: 'Backward: ∂E/∂y at the output',
  d_dEdyOut: 'Differentiate E with respect to the output.',
  s_dEdx: 'Backward: ∂E/∂x at {node}',
  d_dEdx: 'Chain rule through the activation: ∂E/∂x = f′(x)·∂E/∂y.',
  s_dEdw: 'Backward: ∂E/∂w for the weights into layer {layer}',
  d_dEdw: 'A weight’s derivative is its source node’s output times its target node’s ∂E/∂x. A bias’s derivative is ∂E/∂x.',
  s_dEdy: 'Backward: ∂E/∂y at {node}',
  d_dEdy: 'This node’s output feeds every node of the next layer: add up their ∂E/∂x, each times the connecting weight.',
  repeat: 'Repeat, one layer down: ',
  s_update: 'Update',
  d_update: 'Every weight and bias moves against its derivative. “Apply update” takes this step; “Train” takes many and draws the error curve.',
  // View 2
  bpttIntro: 'A tanh recurrent network (1 input, {H} hidden units, 1 output) unrolled over T = {T} steps: hₜ = tanh(xₜ·W_xh + hₜ₋₁·W_hh + b), yₜ = hₜ·W_hy. The engine runs it forward, calls backward, and reads ∂E/∂hₜ from each retained hₜ.',
  scale: 'Recurrent weight scale',
  lossMode: 'Loss',
  lossFinal: 'last step only',
  lossAll: 'every step',
  statesTitle: 'Forward: input xₜ and hidden state hₜ (one square per unit)',
  gradsTitle: 'Backward: ‖∂E/∂hₜ‖ per time step (log scale)',
  ratio: '‖∂E/∂h₁‖ / ‖∂E/∂h_T‖ = {r}',
  vanishing: 'vanishing',
  exploding: 'exploding',
  stable: 'roughly stable',
  tbpttTitle: 'Truncated BPTT(k1, k2)',
  tbpttDesc: 'Step through the sequence; every k1 steps, backpropagate through the last k2 steps. The update at step t covers steps t−k2+1 … t and the loss of steps t−k1+1 … t. Shading: ‖∂E/∂hₜ‖ inside each window, computed by the engine.',
  update: 'update at t = {t}',
  legendWindow: 'backpropagated window',
  legendLoss: 'loss included',
  legendDropped: 'loss never backpropagated',
  droppedNone: 'Every step’s loss is backpropagated at least once.',
  droppedSome: 'k1 > k2: the losses at steps {steps} are never backpropagated.',
  droppedTail: 'Steps {steps} come after the last update, so their loss is not used yet.',
};

export type Key = keyof typeof en;

const zh: Record<Key, string> = {
  title: '反向传播演示',
  tabNet: '教程中的网络',
  tabBptt: '随时间反向传播',
  langButton: 'English',
  stepOf: '第 {i} 步，共 {n} 步',
  back: '◀ 上一步',
  next: '下一步 ▶',
  restart: '重新开始',
  input: '输入 x',
  target: '目标值',
  lr: '学习率 α',
  activation: '激活函数',
  applyUpdate: '执行更新',
  train: '训练',
  trainSteps: '步',
  resetNet: '重置网络',
  paramsTitle: '权重与偏置（可编辑）',
  colParam: '参数',
  colValue: '数值',
  colGrad: '∂E/∂w',
  colNew: '更新后',
  curveTitle: '训练过程中的误差 E',
  curveEmpty: '训练若干步，就能看到误差下降。',
  curveStep: '步',
  errorShort: '误差',
  s_network: '网络',
  d_network: '一个输入节点，两个各有两个节点的隐藏层，一个输出节点。每条边有一个权重 w（粗细表示 |w|，蓝色为正，红色为负），每个节点有一个偏置 b。每个节点显示 x（加权输入和）、y（输出）、∂E/∂x 和 ∂E/∂y；“?” 表示尚未计算。',
  s_activation: '激活函数',
  d_activation: '输入层之后的每个节点对加权输入和 x 应用 f，得到输出 y = f(x)。反向传播需要它的导数 f′(x)，可以用 y 表示。',
  s_errorFn: '误差函数',
  d_errorFn: '误差比较输出与目标值。训练的目的是减小 E。',
  s_input: '前向传播：输入节点',
  d_input: '输入节点没有激活函数：它的输出就是输入值。',
  s_fwd: '前向传播：节点 {node}',
  d_fwd: '把上一层各节点的输出乘以对应权重后相加，再加上偏置，得到 x；然后 y = f(x)。',
  s_errorValue: '前向传播：误差',
  d_errorValue: '得到输出后，计算误差。',
  s_rules: '误差导数与更新规则',
  d_rules: '为了减小 E，每个权重沿其导数 ∂E/∂w 的反方向移动，步长由学习率 α 决定。反向传播从输出到输入扫描一遍，用四条规则求出所有 ∂E/∂w。',
  s_dEdyOut: '反向传播：输出节点的 ∂E/∂y',
  d_dEdyOut: '对输出求 E 的导数。',
  s_dEdx: '反向传播：节点 {node} 的 ∂E/∂x',
  d_dEdx: '经过激活函数的链式法则：∂E/∂x = f′(x)·∂E/∂y。',
  s_dEdw: '反向传播：进入第 {layer} 层的权重的 ∂E/∂w',
  d_dEdw: '权重的导数等于其起点节点的输出乘以终点节点的 ∂E/∂x。偏置的导数就是 ∂E/∂x。',
  s_dEdy: '反向传播：节点 {node} 的 ∂E/∂y',
  d_dEdy: '该节点的输出连到下一层的每个节点：把它们的 ∂E/∂x 乘以相连的权重后相加。',
  repeat: '向下一层重复：',
  s_update: '更新',
  d_update: '每个权重和偏置都沿导数的反方向移动。“执行更新”走这一步；“训练”走多步并画出误差曲线。',
  bpttIntro: '一个 tanh 循环神经网络（1 个输入，{H} 个隐藏单元，1 个输出），沿时间展开 T = {T} 步：hₜ = tanh(xₜ·W_xh + hₜ₋₁·W_hh + b)，yₜ = hₜ·W_hy。引擎先前向计算，再调用 backward，从每个保留梯度的 hₜ 读出 ∂E/∂hₜ。',
  scale: '循环权重缩放',
  lossMode: '损失',
  lossFinal: '仅最后一步',
  lossAll: '每一步',
  statesTitle: '前向：输入 xₜ 与隐藏状态 hₜ（每个单元一个方块）',
  gradsTitle: '反向：各时间步的 ‖∂E/∂hₜ‖（对数坐标）',
  ratio: '‖∂E/∂h₁‖ / ‖∂E/∂h_T‖ = {r}',
  vanishing: '梯度消失',
  exploding: '梯度爆炸',
  stable: '大致稳定',
  tbpttTitle: '截断 BPTT(k1, k2)',
  tbpttDesc: '沿序列逐步前进；每 k1 步，沿最近的 k2 步反向传播。第 t 步的更新覆盖第 t−k2+1 … t 步，以及第 t−k1+1 … t 步的损失。阴影：窗口内由引擎算出的 ‖∂E/∂hₜ‖。',
  update: '第 {t} 步更新',
  legendWindow: '反向传播的窗口',
  legendLoss: '计入的损失',
  legendDropped: '从未反向传播的损失',
  droppedNone: '每一步的损失都至少被反向传播一次。',
  droppedSome: 'k1 > k2：第 {steps} 步的损失从未被反向传播。',
  droppedTail: '第 {steps} 步在最后一次更新之后，它们的损失暂未使用。',
};

const tables: Record<Lang, Record<Key, string>> = { en, zh };
let current: Lang = 'en';
const listeners: (() => void)[] = [];

/** The string for `key` in the current language, with `{name}` placeholders filled from `vars`. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  return tables[current][key].replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

export function getLang(): Lang { return current; }

export function setLang(lang: Lang): void {
  current = lang;
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(el.dataset.i18n as Key);
  for (const f of listeners) f();
}

/** Re-render something (a view) whenever the language changes. */
export function onLangChange(f: () => void): void { listeners.push(f); }
