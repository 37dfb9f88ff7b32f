//! `--staff-for SHARE`: the smallest staff per role that keeps SHARE of the cases within
//! budget.
//!
//! Greedy on whole people, on common random numbers (every staffing sees the same applicants
//! with the same data and times, see [`crate::rng`]), so that two staffings differ by their
//! staff alone: first every role with work gets at least one person; then, while the share is
//! short of the target, the one extra person (of any role, at any service point) that raises
//! it most is added; then each role gives back people as long as the target still holds.
//! When no staffing reaches the target (what is left over is not a matter of staff: returned
//! files, consultations), the answer is the smallest staffing within 0.2 points of the best
//! share found. The target is on the mean over replications; the report gives its interval.

use std::collections::BTreeMap;

use crate::SimError;
use crate::model::Model;
use crate::report::{StaffCount, StaffSearch, Trial, simulate};
use crate::sim::Tally;
use crate::stats::{Ci, ci, share};

/// People the search may add in all before it gives up.
const MAX_ADDED: u32 = 60;

/// The staffing found, the search, and the tallies of the staffing found.
pub fn staff_for(model: &Model, target: f64) -> Result<(Model, StaffSearch, Vec<Tally>), SimError> {
    if !(0.0..=1.0).contains(&target) {
        return Err(SimError::Invalid(format!(
            "--staff-for takes a share between 0 and 1 (e.g. 0.95), not {target}"
        )));
    }
    let mut search = Search {
        tried: Vec::new(),
        seen: BTreeMap::new(),
    };
    // The (point, role) pairs that have work.
    let keys: Vec<(usize, usize)> = (0..model.points.len())
        .flat_map(|p| {
            (0..model.roles.len())
                .filter(|r| !model.role_steps[*r].is_empty())
                .map(move |r| (p, r))
        })
        .collect();
    let mut current = model.clone();
    for &(p, r) in &keys {
        if count(&current, p, r) == 0 {
            current.set_staff(p, r, 1);
        }
    }
    let mut share_now = search.eval(&current)?;
    let mut added = 0;
    while share_now < target && added < MAX_ADDED {
        let mut best: Option<(f64, Model)> = None;
        for &(p, r) in &keys {
            let mut next = current.clone();
            next.set_staff(p, r, count(&current, p, r) + 1);
            let s = search.eval(&next)?;
            if best.as_ref().is_none_or(|(b, _)| s > *b) {
                best = Some((s, next));
            }
        }
        match best {
            Some((s, next)) if s > share_now + 1e-9 => {
                current = next;
                share_now = s;
                added += 1;
            }
            _ => break,
        }
    }
    let reached = share_now >= target;
    // Unreachable: the smallest staffing that keeps (almost: within 0.2 points) the best share
    // found, not the people added for nothing on the plateau.
    let keep = if reached { target } else { share_now - 0.002 };
    {
        loop {
            let mut changed = false;
            for &(p, r) in &keys {
                let n = count(&current, p, r);
                if n <= 1 {
                    continue;
                }
                let mut fewer = current.clone();
                fewer.set_staff(p, r, n - 1);
                if search.eval(&fewer)? >= keep {
                    current = fewer;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }
    let tallies = simulate(&current)?;
    let staff = staff_list(&current);
    Ok((
        current,
        StaffSearch {
            target,
            reached,
            staff,
            tried: search.tried,
        },
        tallies,
    ))
}

fn count(model: &Model, point: usize, role: usize) -> u32 {
    model.points[point]
        .shifts
        .iter()
        .filter(|s| s.role == role)
        .map(|s| s.count)
        .sum()
}

fn staff_list(model: &Model) -> Vec<StaffCount> {
    model
        .staffing()
        .into_iter()
        .filter(|(_, r, _)| !model.role_steps[*r].is_empty())
        .map(|(p, r, n)| StaffCount {
            service_point: model.points[p].id.clone(),
            role: model.roles[r].clone(),
            staff: n,
        })
        .collect()
}

/// The share of cases within budget of each replication.
pub fn within(tallies: &[Tally]) -> Option<Ci> {
    ci(tallies.iter().map(|t| share(t.within, t.arrived)))
}

struct Search {
    tried: Vec<Trial>,
    seen: BTreeMap<Vec<u32>, f64>,
}

impl Search {
    /// The mean share within budget of a staffing (each staffing simulated once).
    fn eval(&mut self, model: &Model) -> Result<f64, SimError> {
        let key: Vec<u32> = model.staffing().iter().map(|(_, _, n)| *n).collect();
        if let Some(s) = self.seen.get(&key) {
            return Ok(*s);
        }
        let tallies = simulate(model)?;
        let within = within(&tallies);
        let s = within.map_or(0.0, |c| c.mean);
        self.seen.insert(key, s);
        self.tried.push(Trial {
            staff: staff_list(model),
            within_budget: within,
        });
        Ok(s)
    }
}
