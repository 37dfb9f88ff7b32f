#!/usr/bin/env node
'use strict';
/* sopflow bench (bench/run.sh), peer baseline: bpmn-engine (node) running the KTP-el issuance SOP (ktp_el_bpmn_engine.bpmn).

   Same case-data mix, modes and figures as spiff_bench.py:
     --mode live : start all N cases (each its own Engine), then rounds of one human step per open case.
     --mode seq  : one case at a time, start to end.
     --persist   : after case start and after every human step, `await engine.getState()` and
                   JSON.stringify it (string kept as the case's "stored state").
   The BPMN is parsed once (bpmn-moddle + moddle-context-serializer) and every Engine gets the
   serialized sourceContext, so per-case XML parsing is not measured.
   Run with NODE_PATH pointing at the node_modules that holds bpmn-engine (see bench/peers/README.md). */
const fs = require('node:fs');
const path = require('node:path');
const { EventEmitter } = require('node:events');
const { Engine } = require('bpmn-engine');
const Elements = require('bpmn-elements');
const BpmnModdle = require('bpmn-moddle');
const { default: serializer, TypeResolver } = require('moddle-context-serializer');

function pkgVersion(name) {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = path.dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
}
function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  return v === undefined || v.startsWith('--') ? true : v;
}
const N = Number(arg('n', 2000));
const MODE = arg('mode', 'live');
const PERSIST = !!arg('persist', false);
const BPMN = arg('bpmn', path.join(__dirname, 'ktp_el_bpmn_engine.bpmn'));

// ---- case-data mix (same in every runner) ----
const incompleteOnce = (i) => i % 5 === 0; // 20 %
const duplicateOnce = (i) => i % 10 === 1; // 10 %
const nikOf = (i) => '3201' + String(i).padStart(12, '0');
function formData(i, step, attempt) {
  switch (step) {
    case 's1_submit_file': return { nik: nikOf(i), applicant_name: 'Applicant ' + i, submissions: attempt };
    case 's2_verify_file': return { docs_complete: !(incompleteOnce(i) && attempt === 1) };
    case 's3_wait_call': return { called: true };
    case 's4_check_record': return { record_status: duplicateOnce(i) && attempt === 1 ? 'duplicate' : 'single' };
    case 's5_validate_handover': return { card_activated: true, handed_over: true };
  }
  throw new Error('unknown step ' + step);
}

// ---- "external" services, called synchronously by the service tasks ----
const counters = { adb: 0, queue: 0 };
const services = {
  equals: (a, b) => a === b,
  consultAdb(ctx, next) {
    counters.adb++;
    const out = ctx.environment.output;
    out.adb_ticket = 'ADB-' + out.nik + '-' + out.record_status;
    next(null, out.adb_ticket);
  },
  nextQueueNo(ctx, next) {
    ctx.environment.output.queue_no = ++counters.queue;
    next(null, counters.queue);
  },
  printCard(ctx, next) {
    const out = ctx.environment.output;
    out.card_serial = 'CARD-' + out.nik;
    next(null, out.card_serial);
  },
};

async function main() {
  const tParse0 = performance.now();
  const moddleContext = await new BpmnModdle().fromXML(fs.readFileSync(BPMN, 'utf8'));
  const sourceContext = serializer(moddleContext, TypeResolver(Elements));
  const tParse = (performance.now() - tParse0) / 1000;

  let humanSteps = 0, persistedBytes = 0, persistCount = 0;

  async function persist(c) {
    const state = await c.engine.getState();
    c.state = JSON.stringify(state);
    persistedBytes += c.state.length;
    persistCount++;
  }

  function settle(c) {
    // the engine runs synchronously with our synchronous services; this is only a fallback
    if (c.waiting || c.done) return null;
    return new Promise((resolve) => { c.notify = resolve; });
  }

  async function start(i) {
    const c = { i, attempts: {}, waiting: null, done: false, notify: null, engine: null, state: null };
    const listener = new EventEmitter();
    listener.on('wait', (api) => { c.waiting = api; if (c.notify) { const n = c.notify; c.notify = null; n(); } });
    const engine = new Engine({ name: 'ktp-' + i, sourceContext, services });
    engine.once('end', () => { c.done = true; if (c.notify) { const n = c.notify; c.notify = null; n(); } });
    engine.once('error', (err) => { console.error('case', i, err); process.exit(2); });
    c.engine = engine;
    await engine.execute({ listener });
    const p = settle(c); if (p) await p;
    if (PERSIST) await persist(c);
    return c;
  }

  // complete one ready human task; returns false when the case has ended
  async function step(c) {
    const api = c.waiting;
    if (!api) return false;
    c.waiting = null;
    const name = api.id;
    const n = (c.attempts[name] || 0) + 1;
    c.attempts[name] = n;
    const data = formData(c.i, name, n);
    Object.assign(api.environment.output, data); // form data becomes case data
    api.signal(data);
    const p = settle(c); if (p) await p;
    humanSteps++;
    if (PERSIST) await persist(c);
    return !c.done;
  }

  let perOpenCase = null;
  const t0 = performance.now();
  let done = 0;
  const finished = (c) => {
    if (!c.done) throw new Error('case ' + c.i + ' not ended');
    const out = c.engine.environment.output;
    if (out.handed_over !== true) throw new Error('case ' + c.i + ' bad output ' + JSON.stringify(out));
    done++;
  };
  if (MODE === 'seq') {
    for (let i = 0; i < N; i++) {
      const c = await start(i);
      while (await step(c));
      finished(c);
    }
  } else {
    const rss0 = process.memoryUsage.rss();
    let open = [];
    for (let i = 0; i < N; i++) open.push(await start(i));
    perOpenCase = (process.memoryUsage.rss() - rss0) / N;
    while (open.length) {
      const nxt = [];
      for (const c of open) {
        if (await step(c)) nxt.push(c); else finished(c);
      }
      open = nxt;
    }
  }
  const elapsed = (performance.now() - t0) / 1000;

  let expAdb = 0, expHuman = 0, expNodes = 0;
  for (let i = 0; i < N; i++) {
    expAdb += duplicateOnce(i) ? 1 : 0;
    expHuman += 5 + (incompleteOnce(i) ? 2 : 0) + (duplicateOnce(i) ? 1 : 0);
    expNodes += 11 + (incompleteOnce(i) ? 3 : 0) + (duplicateOnce(i) ? 3 : 0);
  }
  if (done !== N || counters.adb !== expAdb || humanSteps !== expHuman) {
    throw new Error('check failed ' + JSON.stringify({ done, counters, humanSteps, expAdb, expHuman }));
  }
  const r = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
  console.log(JSON.stringify({
    engine: 'bpmn-engine', version: pkgVersion('bpmn-engine'),
    bpmn_elements: pkgVersion('bpmn-elements'), node: process.versions.node,
    mode: MODE, persist: PERSIST, n: N, parse_s: r(tParse, 4), elapsed_s: r(elapsed, 3),
    cases_per_s: r(N / elapsed), human_steps: humanSteps, human_steps_per_s: r(humanSteps / elapsed),
    flow_nodes: expNodes, flow_nodes_per_s: r(expNodes / elapsed),
    mean_state_bytes: persistCount ? Math.round(persistedBytes / persistCount) : null,
    bytes_per_open_case: perOpenCase === null ? null : Math.round(perOpenCase),
    maxrss_mib: r(process.resourceUsage().maxRSS / 1024),
  }));
}
main().catch((e) => { console.error(e); process.exit(1); });
