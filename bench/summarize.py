#!/usr/bin/env python3
"""Median-of-runs tables, ratios and the targets of issue 7, as markdown, from runs.jsonl
files written by bench/run.sh.

   python3 bench/summarize.py OUT/runs.jsonl [...] [--machine OUT/machine.json] [--reps N]
"""
import argparse, json, statistics
from collections import OrderedDict

ap = argparse.ArgumentParser()
ap.add_argument("runs", nargs="+")
ap.add_argument("--machine")
ap.add_argument("--reps")
a = ap.parse_args()

rows = OrderedDict()
for p in a.runs:
    for line in open(p):
        line = line.strip()
        if line:
            d = json.loads(line)
            rows.setdefault(d["label"], []).append(d)


def get(d, key):
    for part in key.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


def med(label, key):
    vals = [get(r, key) for r in rows.get(label, [])]
    vals = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.median(vals) if vals else None


def fmt(x, nd=0):
    if x is None:
        return "-"
    return f"{x:,.{nd}f}"


def labels(group):
    return [l for l, runs in rows.items() if runs[0].get("group") == group]


out = []
if a.machine:
    m = json.load(open(a.machine))
    out += ["## Machine", "",
            f"- date: {m.get('date_utc')}; sopflow commit {m.get('sopflow_commit')}",
            f"- CPU: {m.get('cpu_model')}, {m.get('cpus')} logical CPUs ({m.get('threads_per_core')} thread(s) per core); RAM {m.get('ram_gib')} GiB",
            f"- disk: `{m.get('disk')}` ({m.get('disk_device')})",
            f"- kernel {m.get('kernel')}, {m.get('os')}; load average at start {m.get('load_avg_at_start')}",
            f"- {m.get('rustc')}; {m.get('sopflow')}; {m.get('python')}; node {m.get('node')}; SQLite CLI {m.get('sqlite3_cli')}; {m.get('postgresql')}",
            f"- peers: {', '.join(x for x in m.get('peers', []) if x)}", ""]
if a.reps:
    out += [f"Each figure is the median of {a.reps} run(s) of that configuration.", ""]

# ---- engines ----
eng = labels("engine") + labels("peer")
out += ["## Engine and peers (one process, KTP-el, the 20/10/70 mix)", "",
        "| configuration | runs | cases/s | human steps/s | SOP flow-node steps/s | transitions/s | bytes per open case | mean persisted state bytes | history bytes/case | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
if not labels("engine"):
    out.append("| engine (sopflow) | 0 | **to be filled: engine runner absent** | | | | | | | |")
for l in eng:
    if "verify" in l or "rhai-baseline" in l:
        continue
    out.append(f"| {l} | {len(rows[l])} | {fmt(med(l,'cases_per_s'))} | {fmt(med(l,'human_steps_per_s'))} | "
               f"{fmt(med(l,'flow_nodes_per_s'))} | {fmt(med(l,'transitions_per_s'))} | {fmt(med(l,'bytes_per_open_case'))} | "
               f"{fmt(med(l,'mean_state_bytes'))} | {fmt(med(l,'history_bytes_per_case'))} | {fmt(med(l,'peak_rss_mib'),1)} |")
out.append("")
ver = [l for l in labels("engine") if "verify" in l or "rhai-baseline" in l]
out += ["## Verification and the bare-rhai baseline", "",
        "| configuration | runs | events/s | events/s, all cores | guard evaluations/s | cases/s | elapsed s |", "|---|---:|---:|---:|---:|---:|---:|"]
if not ver:
    out.append("| engine verify / rhai-baseline | 0 | **to be filled: engine runner absent** | | | | |")
for l in ver:
    out.append(f"| {l} | {len(rows[l])} | {fmt(med(l,'events_per_s'))} | {fmt(med(l,'events_per_s_all_cores'))} | {fmt(med(l,'guard_evals_per_s'))} | "
               f"{fmt(med(l,'cases_per_s'))} | {fmt(med(l,'elapsed_s'),2)} |")
out.append("")

# ---- service ----
svc = labels("service")
out += ["## Service (`sopflow serve`, release, durability on) and the physical references", "",
        "| configuration | runs | completions/s | cases/s | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors | 409s | server peak RSS MiB | server CPU ms/request | events/case | event payload bytes/case | stored bytes/case | events table on disk bytes/case |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
for l in svc:
    out.append(f"| {l} | {len(rows[l])} | {fmt(med(l,'completions_per_s'))} | {fmt(med(l,'cases_per_s'),1)} | {fmt(med(l,'requests_per_s'))} | "
               f"{fmt(med(l,'latency.p50_ms'),1)} | {fmt(med(l,'latency.p90_ms'),1)} | {fmt(med(l,'latency.p99_ms'),1)} | {fmt(med(l,'latency.max_ms'),1)} | "
               f"{fmt(max(r.get('errors', 0) for r in rows[l]))} | {fmt(med(l,'conflicts_409'))} | {fmt(med(l,'server_peak_rss_mib'),1)} | {fmt(med(l,'server_cpu_ms_per_request'),2)} | "
               f"{fmt(med(l,'history_db_events_per_case'),1)} | {fmt(med(l,'history_db_payload_bytes_per_case'))} | {fmt(med(l,'history_db_row_bytes_per_case'))} | "
               f"{fmt(med(l,'history_db_table_bytes_per_case'))} |")
for l in labels("raw"):
    out.append(f"| {l} | {len(rows[l])} | {fmt(med(l,'commits_per_s'))} commits/s | | | | | | | | | | | | | |")
out.append("")
if svc:
    out += ["Latency by request kind (median of runs):", "",
            "| configuration | request | count | p50 ms | p99 ms | max ms |", "|---|---|---:|---:|---:|---:|"]
    for l in svc:
        for k in ("create_case", "complete_step", "call_next"):
            out.append(f"| {l} | {k} | {fmt(med(l, f'latency_by_kind.{k}.count'))} | {fmt(med(l, f'latency_by_kind.{k}.p50_ms'),1)} | "
                       f"{fmt(med(l, f'latency_by_kind.{k}.p99_ms'),1)} | {fmt(med(l, f'latency_by_kind.{k}.max_ms'),1)} |")
    out.append("")

    out += ["The auditor's `sopflow audit verify` over the whole store once the load is done "
            "(the stored cases and the loaded ones: rows, chain, log leaves, replay):", "",
            "| configuration | cases | events | seconds | events/s |", "|---|---:|---:|---:|---:|"]
    for l in svc:
        out.append(f"| {l} | {fmt(med(l,'audit_verify.cases'))} | {fmt(med(l,'audit_verify.events'))} | "
                   f"{fmt(med(l,'audit_verify.elapsed_s'),2)} | {fmt(med(l,'audit_verify.events_per_s'))} |")
    out.append("")

# ---- the web pages under the load (runs with the driver's "web" figures) ----
web = [l for l in svc if any(isinstance(r.get("web"), dict) for r in rows[l])]
if web:
    out += ["The web pages during the same load (officers reloading `GET /meja` over a backlog of open cases; "
            "a display board's event stream, from the call-next request to the number in the stream), "
            "beside the API's step completion in the same run:", "",
            "| configuration | backlog cases | inbox pages | inbox p50 ms | inbox p99 ms | board calls shown / made | board p50 ms | board p99 ms | board p99 after the call's answer ms | API complete_step p99 ms | inbox p99 ÷ API p99 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for l in web:
        api = med(l, "latency_by_kind.complete_step.p99_ms")
        inbox = med(l, "web.inbox_latency.p99_ms")
        out.append(f"| {l} | {fmt(med(l,'web.backlog_cases'))} | {fmt(med(l,'web.inbox_pages'))} | {fmt(med(l,'web.inbox_latency.p50_ms'),1)} | {fmt(inbox,1)} | "
                   f"{fmt(med(l,'web.board_calls_shown'))} / {fmt(med(l,'web.board_calls'))} | {fmt(med(l,'web.board_update_latency.p50_ms'),1)} | {fmt(med(l,'web.board_update_latency.p99_ms'),1)} | "
                   f"{fmt(med(l,'web.board_lag_after_call.p99_ms'),1)} | {fmt(api,1)} | {fmt(inbox / api if inbox is not None and api else None,2)}× |")
    out.append("")


def first(prefix, without="persist"):
    return next((l for l in rows if l.startswith(prefix) and without not in l), None)


def ratio(x, y):
    return x / y if x is not None and y else None


# ---- scale with work (SCALE="..." in run.sh) ----
scale = labels("scale")
if scale:
    base = first("service sqlite c=")
    b_cps, b_p99 = med(base, "completions_per_s"), med(base, "latency.p99_ms")
    out += ["Scale with work: the same load on a store already holding N finished cases "
            "(ratios against the empty store of the same run):", "",
            "| configuration | stored cases | fill s | completions/s | ÷ empty store | p99 ms | ÷ empty store | call_next p99 ms | server peak RSS MiB | stored bytes/case |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for l in scale:
        cps, p99 = med(l, "completions_per_s"), med(l, "latency.p99_ms")
        out.append(f"| {l} | {fmt(med(l,'stored_cases'))} | {fmt(med(l,'prefill_s'))} | {fmt(cps)} | {fmt(ratio(cps, b_cps),2)}× | "
                   f"{fmt(p99,1)} | {fmt(ratio(p99, b_p99),2)}× | {fmt(med(l,'latency_by_kind.call_next.p99_ms'),1)} | "
                   f"{fmt(med(l,'server_peak_rss_mib'),1)} | {fmt(med(l,'history_db_row_bytes_per_case'))} |")
    out.append("")


# ---- ratios and targets ----
# The sizes by default; run.sh may have run the slow peers with fewer open cases.
ENGINE_LIVE = first("engine live n=")
E = med(ENGINE_LIVE, "cases_per_s")
SPIFF, XSTATE = first("spiff live n="), first("xstate live n=")
spiff = med(SPIFF, "cases_per_s")
xstate = med(XSTATE, "cases_per_s")
rhai = med(first("engine rhai-baseline"), "cases_per_s")
svc_sqlite = first("service sqlite c=")
svc_pg = first("service postgres c=")
svc_web = first("service sqlite web")
raw_sqlite = med("raw sqlite commit", "commits_per_s")
raw_pg = med("raw pgbench insert c=1", "commits_per_s")

targets = []


def target(what, value, goal, ok, unit=""):
    if value is None:
        verdict = "not measured"
    else:
        verdict = "met" if ok(value) else "**missed**"
    shown = "-" if value is None else (fmt(value, 2) if value < 100 else fmt(value)) + unit
    targets.append(f"| {what} | {shown} | {goal} | {verdict} |")


target(f"engine ÷ SpiffWorkflow, cases/s ({ENGINE_LIVE} ÷ {SPIFF})", ratio(E, spiff), "≥ 100×", lambda v: v >= 100, "×")
target(f"engine ÷ XState, cases/s ({ENGINE_LIVE} ÷ {XSTATE})", ratio(E, xstate), "≥ 5×", lambda v: v >= 5, "×")
target("engine ÷ bare rhai guard loop, cases/s", ratio(E, rhai), "≥ 0.5×", lambda v: v >= 0.5, "×")
target("engine memory per open case (bytes)", med(ENGINE_LIVE, "bytes_per_open_case"), "≤ 2,048", lambda v: v <= 2048)
target("verification, events/s (one core)", med(first("engine verify"), "events_per_s"), "≥ 500,000", lambda v: v >= 500_000)
target("verification, events/s (all cores)", med(first("engine verify"), "events_per_s_all_cores"), "≥ 5,000,000", lambda v: v >= 5_000_000)
if svc_sqlite:
    target("SQLite: completions/s ÷ raw fsync commits/s", ratio(med(svc_sqlite, "completions_per_s"), raw_sqlite), "≥ 1×", lambda v: v >= 1, "×")
    target(f"SQLite: p99 latency ms ({svc_sqlite})", med(svc_sqlite, "latency.p99_ms"), "< 25", lambda v: v < 25)
    target("SQLite: server peak RSS MiB", med(svc_sqlite, "server_peak_rss_mib"), "< 100", lambda v: v < 100)
if svc_pg:
    target("PostgreSQL: completions/s ÷ pgbench 1-client insert/s", ratio(med(svc_pg, "completions_per_s"), raw_pg), "≥ 0.5×", lambda v: v >= 0.5, "×")
    target(f"PostgreSQL: p99 latency ms ({svc_pg})", med(svc_pg, "latency.p99_ms"), "< 25", lambda v: v < 25)
    target("PostgreSQL: server peak RSS MiB", med(svc_pg, "server_peak_rss_mib"), "< 100", lambda v: v < 100)
if svc_web:
    target(f"web: inbox page p99 ms under the load ({svc_web})", med(svc_web, "web.inbox_latency.p99_ms"), "< 50", lambda v: v < 50)
    target(f"web: board update p99 ms under the load ({svc_web})", med(svc_web, "web.board_update_latency.p99_ms"), "< 50", lambda v: v < 50)
out += ["## Ratios and the targets of issue 7", "", "| measure | value | target | verdict |", "|---|---:|---|---|"] + targets + [""]

peer_ratios = []
for name in (SPIFF, XSTATE, first("transitions live n="), first("bpmn-engine live n=")):
    if name:
        peer_ratios.append(f"| {name} | {fmt(med(name,'cases_per_s'),1)} | {fmt(ratio(E, med(name,'cases_per_s')),1)}× |")
if peer_ratios:
    out += [f"| peer | cases/s | {ENGINE_LIVE or 'engine (absent)'} ÷ peer |", "|---|---:|---:|"] + peer_ratios + [""]
print("\n".join(out))
