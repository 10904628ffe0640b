#!/usr/bin/env node
// Times the real mermaid-js parser, parse only, warmed up in-process: the other side of
// benches/vs-mermaid.sh. mermaid is loaded as the oracle in shared/tools/mermaid-oracle loads
// it (jsdom supplies the window DOMPurify needs). The script runs from the folder where that
// oracle's package.json was installed with `npm ci` (vs-mermaid.sh copies it there), so the
// pinned mermaid in node_modules is the one imported.
//
// Usage: node mermaid-parse.mjs [--budget-ms MS] [--min-runs N] FILE.mmd...
// Prints one JSON object per file: {file, ok, error?, runs, median_ms, min_ms, max_ms,
// cpu_median_ms}: wall time, and this process's CPU time (user + system), which a busy
// machine inflates less.
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const k of ['Element', 'HTMLElement', 'SVGElement', 'Node', 'DOMParser', 'MutationObserver']) {
  if (!(k in globalThis)) globalThis[k] = dom.window[k];
}

const mermaid = (await import('mermaid')).default;
// maxEdges is a "secure" key: a %%{init}%% directive cannot raise it, only initialize can.
// The generated flowcharts have about 4 edges per tier.
mermaid.initialize({ startOnLoad: false, logLevel: 'fatal', maxEdges: 1_000_000 });

const args = process.argv.slice(2);
let budgetMs = 3000;
let minRuns = 5;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--budget-ms') budgetMs = Number(args[++i]);
  else if (args[i] === '--min-runs') minRuns = Number(args[++i]);
  else files.push(args[i]);
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** One parse: [wall ms, CPU ms]. */
async function parseOnce(text) {
  const cpu = cpuMs();
  const start = performance.now();
  // mermaid.parse resolves to false only with suppressErrors; otherwise it throws.
  await mermaid.parse(text);
  return [performance.now() - start, cpuMs() - cpu];
}

for (const file of files) {
  const text = fs.readFileSync(file, 'utf8');
  try {
    // Warm-up: until the JIT has seen the input for about a third of the budget (at least once).
    let warm = 0;
    let warmRuns = 0;
    do {
      warm += (await parseOnce(text))[0];
      warmRuns++;
    } while (warm < budgetMs / 3 && warmRuns < 50);
    const times = [];
    const cpu = [];
    let spent = 0;
    while (times.length < minRuns || (spent < budgetMs && times.length < 200)) {
      const [wall, used] = await parseOnce(text);
      times.push(wall);
      cpu.push(used);
      spent += wall;
    }
    console.log(
      JSON.stringify({
        file,
        ok: true,
        runs: times.length,
        median_ms: median(times),
        min_ms: Math.min(...times),
        max_ms: Math.max(...times),
        cpu_median_ms: median(cpu),
      }),
    );
  } catch (e) {
    const error = String(e?.message ?? e).split('\n')[0];
    console.log(JSON.stringify({ file, ok: false, error }));
  }
}
