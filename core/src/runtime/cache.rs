//! What the runtime keeps in memory: the latest state of recently used cases (so a command
//! need not fold the whole history again), and where a case's chain ends after a command of
//! this process (so the next command can be decided before it queues: `Runtime::prepare`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sopflow_engine::case::CaseState;

/// Beyond this many cached states the cache starts over: a bound, not an LRU.
const CACHE_LIMIT: usize = 50_000;

/// A case after a command committed here: its state, the hash its chain ends at, its salt
/// and its service point as stored, what deciding and chaining the next command needs without
/// reading the store.
#[derive(Clone)]
pub(super) struct Tip {
    pub(super) state: Arc<CaseState>,
    pub(super) head: String,
    pub(super) salt: String,
    pub(super) point: Arc<str>,
}

/// The state of a case after its last committed command, by case id. Only committed states of
/// open cases enter; a state is used only for the version the store says the case is at (a
/// tip, before its command queues, only as a guess the append checks).
#[derive(Clone, Default)]
pub(super) struct StateCache {
    states: Arc<Mutex<HashMap<String, Cached>>>,
}

type Chain = (String, String, Arc<str>);

struct Cached {
    state: Arc<CaseState>,
    /// Head, salt and service point, when the state was committed by this process.
    chain: Option<Chain>,
}

impl StateCache {
    pub(super) fn get(&self, case_id: &str, version: u64) -> Option<Arc<CaseState>> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        states
            .get(case_id)
            .filter(|c| c.state.version == version)
            .map(|c| Arc::clone(&c.state))
    }

    /// The case as this process last committed it, if it still holds that.
    pub(super) fn tip(&self, case_id: &str) -> Option<Tip> {
        let states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let cached = states.get(case_id)?;
        let (head, salt, point) = cached.chain.as_ref()?;
        Some(Tip {
            state: Arc::clone(&cached.state),
            head: head.clone(),
            salt: salt.clone(),
            point: Arc::clone(point),
        })
    }

    /// A state folded from the store: it replaces no state as new (a tip of the same version
    /// keeps its chain's end).
    pub(super) fn put(&self, state: Arc<CaseState>) {
        self.insert(state, None);
    }

    /// A state committed here, with its chain's end.
    pub(super) fn put_tip(&self, tip: Tip) {
        self.insert(tip.state, Some((tip.head, tip.salt, tip.point)));
    }

    fn insert(&self, state: Arc<CaseState>, chain: Option<Chain>) {
        // A closed case takes no more commands, and its personal data may be erased by
        // another process: it is always read from the store.
        if state.status.is_closed() {
            return;
        }
        let mut states = self.states.lock().unwrap_or_else(|p| p.into_inner());
        if chain.is_none()
            && states
                .get(&state.case_id)
                .is_some_and(|c| c.state.version >= state.version)
        {
            return;
        }
        if states.len() >= CACHE_LIMIT {
            states.clear();
        }
        states.insert(state.case_id.clone(), Cached { state, chain });
    }
}
