#!/usr/bin/env python3
"""sopflow bench (bench/run.sh), peer baseline: SpiffWorkflow running the KTP-el issuance SOP (ktp_el_spiff.bpmn).

N cases in one process. Each case is driven to its end by completing its ready user
tasks with case data (see MIX below; identical rules in the other runners).

  --mode live : all N cases are started first and stay open; then rounds: each open case
                gets one human step per round (an engine holding N open files).
  --mode seq  : one case at a time, start to end.
  --persist   : after case start and after every human step (incl. the engine steps it
                triggers) the whole case is serialized to a JSON string with
                BpmnWorkflowSerializer.serialize_json (the string is kept as "stored state").
Prints one JSON line with the figures.
"""
import argparse, json, os, resource, sys, time

from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.util.task import TaskState
import SpiffWorkflow

HERE = os.path.dirname(os.path.abspath(__file__))

# ---- case-data mix (same in every runner) ----
# case i: documents incomplete on first verification if i % 5 == 0   (20 %)
#         duplicate record on first check          if i % 10 == 1  (10 %)
def rss_bytes():
    """Current resident set of this process (for memory per open case)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def incomplete_once(i): return i % 5 == 0
def duplicate_once(i): return i % 10 == 1
def nik_of(i): return "3201%012d" % i

def form_data(i, step, attempt):
    """Data the human enters when completing `step` for the `attempt`-th time (1-based)."""
    if step == "s1_submit_file":
        return {"nik": nik_of(i), "applicant_name": "Applicant %d" % i, "submissions": attempt}
    if step == "s2_verify_file":
        return {"docs_complete": not (incomplete_once(i) and attempt == 1)}
    if step == "s3_wait_call":
        return {"called": True}
    if step == "s4_check_record":
        return {"record_status": "duplicate" if (duplicate_once(i) and attempt == 1) else "single"}
    if step == "s5_validate_handover":
        return {"card_activated": True, "handed_over": True}
    raise KeyError(step)

# ---- "external" services reachable from scripts ----
COUNTERS = {"adb": 0, "queue": 0}
def consult_adb(nik, status):
    COUNTERS["adb"] += 1
    return "ADB-%s-%s" % (nik, status)
def print_card(nik):
    return "CARD-" + nik
def next_queue_no():
    COUNTERS["queue"] += 1
    return COUNTERS["queue"]


class Case:
    __slots__ = ("i", "wf", "attempts", "state")
    def __init__(self, i, wf):
        self.i, self.wf, self.attempts, self.state = i, wf, {}, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--mode", choices=["live", "seq"], default="live")
    ap.add_argument("--persist", action="store_true")
    ap.add_argument("--bpmn", default=os.path.join(HERE, "ktp_el_spiff.bpmn"))
    a = ap.parse_args()

    t_parse0 = time.perf_counter()
    parser = BpmnParser()
    parser.add_bpmn_file(a.bpmn)
    spec = parser.get_spec("ktp_el")
    t_parse = time.perf_counter() - t_parse0

    engine = PythonScriptEngine(environment=TaskDataEnvironment(
        {"consult_adb": consult_adb, "next_queue_no": next_queue_no, "print_card": print_card}))
    serializer = BpmnWorkflowSerializer()
    human_steps = 0
    persisted_bytes = 0
    persist_count = 0

    def persist(c):
        nonlocal persisted_bytes, persist_count
        c.state = serializer.serialize_json(c.wf)
        persisted_bytes += len(c.state)
        persist_count += 1

    def start(i):
        wf = BpmnWorkflow(spec, script_engine=engine)
        wf.do_engine_steps()
        c = Case(i, wf)
        if a.persist: persist(c)
        return c

    def step(c):
        """Complete one ready human task. Returns False when the case has ended."""
        nonlocal human_steps
        ready = c.wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            return False
        t = ready[0]
        name = t.task_spec.bpmn_id
        n = c.attempts.get(name, 0) + 1
        c.attempts[name] = n
        t.set_data(**form_data(c.i, name, n))
        t.run()
        c.wf.do_engine_steps()
        human_steps += 1
        if a.persist: persist(c)
        return not c.wf.is_completed()

    per_open_case = None
    t0 = time.perf_counter()
    done = 0
    if a.mode == "seq":
        for i in range(a.n):
            c = start(i)
            while step(c): pass
            assert c.wf.is_completed()
            done += 1
            c.wf = None  # drop finished case
    else:
        rss0 = rss_bytes()
        open_cases = [start(i) for i in range(a.n)]
        per_open_case = (rss_bytes() - rss0) / a.n
        while open_cases:
            nxt = []
            for c in open_cases:
                if step(c): nxt.append(c)
                else:
                    assert c.wf.is_completed(); done += 1
            open_cases = nxt
    elapsed = time.perf_counter() - t0

    exp_adb = sum(1 for i in range(a.n) if duplicate_once(i))
    exp_human = sum(5 + (2 if incomplete_once(i) else 0) + (1 if duplicate_once(i) else 0) for i in range(a.n))
    assert done == a.n and COUNTERS["adb"] == exp_adb and human_steps == exp_human, (done, COUNTERS, human_steps)
    exp_nodes = sum(11 + (3 if incomplete_once(i) else 0) + (3 if duplicate_once(i) else 0) for i in range(a.n))
    out = {
        "engine": "SpiffWorkflow", "version": SpiffWorkflow.__version__ if hasattr(SpiffWorkflow, "__version__") else None,
        "python": sys.version.split()[0], "mode": a.mode, "persist": a.persist, "n": a.n,
        "parse_s": round(t_parse, 4), "elapsed_s": round(elapsed, 3),
        "cases_per_s": round(a.n / elapsed, 1),
        "human_steps": human_steps, "human_steps_per_s": round(human_steps / elapsed, 1),
        "flow_nodes": exp_nodes, "flow_nodes_per_s": round(exp_nodes / elapsed, 1),
        "mean_state_bytes": round(persisted_bytes / persist_count) if persist_count else None,
        "bytes_per_open_case": round(per_open_case) if per_open_case is not None else None,
        "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(out))

if __name__ == "__main__":
    main()
