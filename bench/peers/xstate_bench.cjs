#!/usr/bin/env node
'use strict';
/* sopflow bench (bench/run.sh), lightweight reference: XState v5 running the KTP-el SOP as a statechart (no BPMN).
   One machine definition; every case is an actor (createActor(machine).start()).
   Decisions are guarded transitions on event data / context; automated steps
   (queue number, ADB consult, card print) are assign actions; the ADB consult is a transient
   state that goes back to the check via an eventless (always) transition.
   Same mix, modes and figures as spiff_bench.py; --persist: JSON.stringify(actor.getPersistedSnapshot())
   after case start and after every human step.  Run with NODE_PATH (see bench/peers/README.md). */
const fs = require('node:fs');
const path = require('node:path');
const { createMachine, createActor, assign } = require('xstate');

function pkgVersion(name) {
  let dir = path.dirname(require.resolve(name));
  while (!fs.existsSync(path.join(dir, 'package.json')) || JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name !== name) {
    const up = path.dirname(dir); if (up === dir) return null; dir = up;
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

const incompleteOnce = (i) => i % 5 === 0;
const duplicateOnce = (i) => i % 10 === 1;
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

const counters = { adb: 0, queue: 0 };
const merge = assign(({ context, event }) => ({ ...context, ...event.data }));

const machine = createMachine({
  id: 'ktp_el',
  initial: 's1_submit_file',
  context: {},
  states: {
    s1_submit_file: { on: { COMPLETE: { target: 's2_verify_file', actions: merge } } },
    s2_verify_file: {
      on: {
        COMPLETE: [
          { guard: ({ event }) => event.data.docs_complete === true, target: 's3_wait_call',
            actions: [merge, assign({ queue_no: () => ++counters.queue })] },
          { target: 's1_submit_file', actions: merge }, // incomplete: return to applicant
        ],
      },
    },
    s3_wait_call: { on: { COMPLETE: { target: 's4_check_record', actions: merge } } },
    s4_check_record: {
      on: {
        COMPLETE: [
          { guard: ({ event }) => event.data.record_status === 'single', target: 's5_validate_handover',
            actions: [merge, assign({ card_serial: ({ context }) => 'CARD-' + context.nik })] },
          { target: 'consult_adb', actions: merge },
        ],
      },
    },
    consult_adb: {
      entry: assign({ adb_ticket: ({ context }) => { counters.adb++; return 'ADB-' + context.nik + '-' + context.record_status; } }),
      always: { target: 's4_check_record' },
    },
    s5_validate_handover: { on: { COMPLETE: { target: 'done', actions: merge } } },
    done: { type: 'final' },
  },
});

let humanSteps = 0, persistedBytes = 0, persistCount = 0;
function persist(c) {
  c.stored = JSON.stringify(c.actor.getPersistedSnapshot());
  persistedBytes += c.stored.length; persistCount++;
}
function start(i) {
  const c = { i, attempts: {}, actor: createActor(machine).start(), stored: null };
  if (PERSIST) persist(c);
  return c;
}
function step(c) {
  const snap = c.actor.getSnapshot();
  if (snap.status === 'done') return false;
  const name = snap.value;
  const n = (c.attempts[name] || 0) + 1; c.attempts[name] = n;
  c.actor.send({ type: 'COMPLETE', data: formData(c.i, name, n) });
  humanSteps++;
  if (PERSIST) persist(c);
  return c.actor.getSnapshot().status !== 'done';
}

let perOpenCase = null;
const t0 = performance.now();
let done = 0;
const finished = (c) => {
  const s = c.actor.getSnapshot();
  if (s.status !== 'done' || s.context.handed_over !== true) throw new Error('case ' + c.i + ' not ended');
  done++;
};
if (MODE === 'seq') {
  for (let i = 0; i < N; i++) { const c = start(i); while (step(c)); finished(c); c.actor.stop(); }
} else {
  const rss0 = process.memoryUsage.rss();
  let open = [];
  for (let i = 0; i < N; i++) open.push(start(i));
  perOpenCase = (process.memoryUsage.rss() - rss0) / N;
  while (open.length) {
    const nxt = [];
    for (const c of open) { if (step(c)) nxt.push(c); else finished(c); }
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
  engine: 'xstate', version: pkgVersion('xstate'), node: process.versions.node,
  mode: MODE, persist: PERSIST, n: N, elapsed_s: r(elapsed, 3),
  cases_per_s: r(N / elapsed), human_steps: humanSteps, human_steps_per_s: r(humanSteps / elapsed),
  flow_nodes: expNodes, flow_nodes_per_s: r(expNodes / elapsed),
  mean_state_bytes: persistCount ? Math.round(persistedBytes / persistCount) : null,
  bytes_per_open_case: perOpenCase === null ? null : Math.round(perOpenCase),
    maxrss_mib: r(process.resourceUsage().maxRSS / 1024),
}));
