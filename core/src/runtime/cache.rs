//! What the runtime keeps in memory: the latest state of recently used cases (so a command
//! need not fold the whole history again).

use std::collections::HashMap;
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
    pub(super) fn get(&self, case_id: &str, version: u64) -> Option<Arc<CaseState>> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .get(case_id)
            .filter(|s| s.version == version)
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
