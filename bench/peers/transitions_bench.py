#!/usr/bin/env python3
"""sopflow bench (bench/run.sh), floor reference: the `transitions` state-machine library running the KTP-el SOP as a plain
state machine (no BPMN, no engine). One Machine object, every case is a model added to it.

States: s1_submit_file -> s2_verify_file -> (docs_complete? s3_wait_call : back to s1)
        s3_wait_call -> s4_check_record -> (record single? s5_validate_handover : consult_adb -> s4)
        s5_validate_handover -> done
Automated steps (queue number, ADB consult, card print) are callbacks on transitions.
Same mix, modes and figures as spiff_bench.py; --persist: json.dumps({state, data}) after every step.
"""
import argparse, json, os, resource, sys, time
from importlib.metadata import version
from transitions import Machine

def rss_bytes():
    """Current resident set of this process (for memory per open case)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

def incomplete_once(i): return i % 5 == 0
def duplicate_once(i): return i % 10 == 1
def nik_of(i): return "3201%012d" % i

def form_data(i, step, attempt):
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

COUNTERS = {"adb": 0, "queue": 0}

class Case:
    def __init__(self, i):
        self.i, self.data, self.attempts, self.stored = i, {}, {}, None
    # conditions
    def docs_complete(self): return self.data.get("docs_complete") is True
    def record_single(self): return self.data.get("record_status") == "single"
    # automated steps
    def issue_queue_no(self):
        COUNTERS["queue"] += 1; self.data["queue_no"] = COUNTERS["queue"]
    def consult_adb(self):
        COUNTERS["adb"] += 1
        self.data["adb_ticket"] = "ADB-%s-%s" % (self.data["nik"], self.data["record_status"])
        self.adb_answered()
    def print_card(self): self.data["card_serial"] = "CARD-" + self.data["nik"]

STATES = ["s1_submit_file", "s2_verify_file", "s3_wait_call", "s4_check_record",
          "consult_adb", "s5_validate_handover", "done"]
TRANSITIONS = [
    {"trigger": "complete_s1_submit_file", "source": "s1_submit_file", "dest": "s2_verify_file"},
    {"trigger": "complete_s2_verify_file", "source": "s2_verify_file", "dest": "s3_wait_call",
     "conditions": "docs_complete", "after": "issue_queue_no"},
    {"trigger": "complete_s2_verify_file", "source": "s2_verify_file", "dest": "s1_submit_file"},
    {"trigger": "complete_s3_wait_call", "source": "s3_wait_call", "dest": "s4_check_record"},
    {"trigger": "complete_s4_check_record", "source": "s4_check_record", "dest": "s5_validate_handover",
     "conditions": "record_single", "after": "print_card"},
    {"trigger": "complete_s4_check_record", "source": "s4_check_record", "dest": "consult_adb",
     "after": "consult_adb"},
    {"trigger": "adb_answered", "source": "consult_adb", "dest": "s4_check_record"},
    {"trigger": "complete_s5_validate_handover", "source": "s5_validate_handover", "dest": "done"},
]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--mode", choices=["live", "seq"], default="live")
    ap.add_argument("--persist", action="store_true")
    a = ap.parse_args()

    machine = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial="s1_submit_file",
                      auto_transitions=False)
    human_steps = 0; persisted_bytes = 0; persist_count = 0

    def persist(c):
        nonlocal persisted_bytes, persist_count
        c.stored = json.dumps({"state": c.state, "data": c.data})
        persisted_bytes += len(c.stored); persist_count += 1

    def start(i):
        c = Case(i); machine.add_model(c)
        if a.persist: persist(c)
        return c

    def step(c):
        nonlocal human_steps
        name = c.state
        if name == "done": return False
        n = c.attempts.get(name, 0) + 1; c.attempts[name] = n
        c.data.update(form_data(c.i, name, n))
        c.trigger("complete_" + name)
        human_steps += 1
        if a.persist: persist(c)
        return c.state != "done"

    per_open_case = None
    t0 = time.perf_counter(); done = 0
    if a.mode == "seq":
        for i in range(a.n):
            c = start(i)
            while step(c): pass
            machine.remove_model(c); done += 1
    else:
        rss0 = rss_bytes()
        open_cases = [start(i) for i in range(a.n)]
        per_open_case = (rss_bytes() - rss0) / a.n
        while open_cases:
            nxt = []
            for c in open_cases:
                if step(c): nxt.append(c)
                else: done += 1
            open_cases = nxt
    elapsed = time.perf_counter() - t0

    exp_adb = sum(1 for i in range(a.n) if duplicate_once(i))
    exp_human = sum(5 + (2 if incomplete_once(i) else 0) + (1 if duplicate_once(i) else 0) for i in range(a.n))
    assert done == a.n and COUNTERS["adb"] == exp_adb and human_steps == exp_human, (done, COUNTERS, human_steps)
    exp_nodes = sum(11 + (3 if incomplete_once(i) else 0) + (3 if duplicate_once(i) else 0) for i in range(a.n))
    print(json.dumps({
        "engine": "transitions", "version": version("transitions"), "python": sys.version.split()[0],
        "mode": a.mode, "persist": a.persist, "n": a.n, "elapsed_s": round(elapsed, 3),
        "cases_per_s": round(a.n / elapsed, 1), "human_steps": human_steps,
        "human_steps_per_s": round(human_steps / elapsed, 1), "flow_nodes": exp_nodes,
        "flow_nodes_per_s": round(exp_nodes / elapsed, 1),
        "mean_state_bytes": round(persisted_bytes / persist_count) if persist_count else None,
        "bytes_per_open_case": round(per_open_case) if per_open_case is not None else None,
        "maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))

if __name__ == "__main__":
    main()
