//! What the runtime keeps in memory: the latest state of recently used cases (so a command
//! need not fold the whole history again), and the cases a queue call is taking right now.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use sopflow_engine::case::CaseState;

/// Beyond this many cached states the cache starts over: a bound, not an LRU.
const CACHE_LIMIT: usize = 50_000;

/// The state of a case after its last committed command, by case id. Only committed states of
/// open cases enter; a state is used only for the version the store says the case is at.
#[derive(Clone, Default)]
pub(super) struct StateCache {
    states: Arc<Mutex<HashMap<String, Arc<CaseState>>>>,
}

impl StateCache {
    pub(super) fn get(&self, case_id: &str, version: i64) -> Option<Arc<CaseState>> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .get(case_id)
            .filter(|s| i64::try_from(s.version).ok() == Some(version))
            .cloned()
    }

    pub(super) fn put(&self, state: Arc<CaseState>) {
        // A closed case takes no more commands, and its personal data may be erased by
        // another process: it is always read from the store.
        if state.status.is_closed() {
            return;
        }
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        if states.len() >= CACHE_LIMIT {
            states.clear();
        }
        states.insert(state.case_id.clone(), state);
    }
}

/// Cases a queue call of this process is calling right now (see `Runtime::reserve_call`).
#[derive(Clone, Default)]
pub(super) struct Calling {
    cases: Arc<Mutex<HashSet<String>>>,
}

impl Calling {
    pub(super) fn reserve(&self, case_id: &str) -> Option<CallReservation> {
        let mut cases = self.cases.lock().unwrap_or_else(|p| p.into_inner());
        cases.insert(case_id.to_owned()).then(|| CallReservation {
            calling: self.clone(),
            case_id: case_id.to_owned(),
        })
    }
}

/// A case reserved by `Runtime::reserve_call`, released when dropped.
pub struct CallReservation {
    calling: Calling,
    case_id: String,
}

impl std::fmt::Debug for CallReservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallReservation")
            .field("case_id", &self.case_id)
            .finish()
    }
}

impl Drop for CallReservation {
    fn drop(&mut self) {
        let mut cases = self.calling.cases.lock().unwrap_or_else(|p| p.into_inner());
        cases.remove(&self.case_id);
    }
}
