//! Who sees a case, and as whom a user acts on it.
//!
//! A role sees the cases of the SOPs it works on (it is an actor of the SOP, may record one of
//! its steps or calls one of its queues), at the service points where the user holds that
//! role, with their personal data. Admins and auditors see the cases of every SOP at the
//! service points they hold their role at, with personal data masked (an auditor reveals it
//! through the replay, with a reason that is recorded). Anyone else is told there is no such
//! case, as for an unknown one. Every face asks these functions; none decides for itself.

use std::collections::BTreeSet;

use sopflow_engine::case::Command;
use sopflow_engine::sop::Sop;
use sopflow_engine::sop::model::StepKind;

use crate::auth::{ADMIN, AUDITOR, BUILT_IN_ROLES, User};
use sopflow_store::Store;

use crate::registry::{Deployed, Registry};

/// The roles that work an SOP: its actors, the roles that may record its steps, and those
/// that call its queues.
pub fn working_roles(sop: &Sop) -> BTreeSet<String> {
    let document = sop.document();
    let mut roles: BTreeSet<String> = document.actors.iter().map(|a| a.id.clone()).collect();
    for idx in 0..sop.step_count() {
        roles.extend(sop.recorders(idx).iter().cloned());
    }
    for queue in &document.queues {
        roles.extend(queue.called_by.iter().cloned());
    }
    roles
}

/// How a user sees a case they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    /// As it is, personal data included: they work it.
    Full,
    /// With personal data masked: an admin or an auditor.
    Masked,
}

impl Sight {
    /// Whether personal data is shown as stored.
    pub fn personal(self) -> bool {
        self == Sight::Full
    }
}

/// How `user` sees a case of `deployed` opened at `point`; `None`: not at all.
pub fn sight(user: &User, deployed: &Deployed, point: &str) -> Option<Sight> {
    sight_by_roles(user, &deployed.roles, point)
}

/// [`sight`] for an SOP version that `roles` work.
pub fn sight_by_roles(user: &User, roles: &BTreeSet<String>, point: &str) -> Option<Sight> {
    let mut best = None;
    for role in user.roles_at(point) {
        if roles.contains(role) {
            return Some(Sight::Full);
        }
        if role == ADMIN || role == AUDITOR {
            best = Some(Sight::Masked);
        }
    }
    best
}

/// The role `user` acts in for `command` on a case of `deployed` at `point`: the first of
/// their roles there that may do it; else the first role there that sees the case (the
/// engine then refuses it, naming the roles that may). `None`: they do not see the case.
pub fn acting_role(
    user: &User,
    deployed: &Deployed,
    point: &str,
    command: &Command,
) -> Option<String> {
    sight(user, deployed, point)?;
    let sop = &deployed.sop;
    let allowed: Vec<&str> = match command {
        Command::CompleteStep { step, .. } => sop
            .step_index(step)
            .map(|idx| sop.recorders(idx).iter().map(String::as_str).collect())
            .unwrap_or_default(),
        Command::CallFromQueue { queue, .. } => sop
            .document()
            .queues
            .iter()
            .filter(|q| q.id == *queue)
            .flat_map(|q| q.called_by.iter().map(String::as_str))
            .collect(),
        // What is done with a number being called: by who calls the SOP's queues (the engine
        // checks the queue it was called from).
        Command::Recall | Command::NoShow { .. } | Command::Transfer { .. } => sop
            .document()
            .queues
            .iter()
            .flat_map(|q| q.called_by.iter().map(String::as_str))
            .collect(),
        Command::Cancel { .. } | Command::ResolveIncident { .. } => vec![ADMIN],
        _ => Vec::new(),
    };
    let roles: Vec<&str> = user.roles_at(point).collect();
    roles
        .iter()
        .find(|r| allowed.contains(r))
        .or_else(|| {
            roles
                .iter()
                .find(|r| deployed.roles.contains(**r) || **r == ADMIN || **r == AUDITOR)
        })
        .map(|r| (*r).to_owned())
}

/// The roles `user` may open a case of `deployed` in at `point`.
pub fn opening_roles<'u>(user: &'u User, deployed: &Deployed, point: &'u str) -> Vec<&'u str> {
    let start = deployed.sop.recorders(deployed.sop.start());
    user.roles_at(point)
        .filter(|r| start.iter().any(|s| s == r))
        .collect()
}

/// Whether a role is one a person may act in at a queue step: it calls its queue.
pub fn calls_queue(deployed: &Deployed, idx: usize, role: &str) -> bool {
    let step = deployed.sop.step(idx);
    step.kind == StepKind::Queue
        && deployed
            .sop
            .document()
            .queues
            .iter()
            .any(|q| Some(&q.id) == step.queue.as_ref() && q.called_by.iter().any(|r| r == role))
}

/// Every role a user may be given: the built-in ones and those that work a deployed SOP
/// version (any version: a role that worked an older one still sees its cases).
pub async fn known_roles(
    store: &Store,
    registry: &Registry,
) -> Result<BTreeSet<String>, sopflow_store::Error> {
    let mut roles: BTreeSet<String> = BUILT_IN_ROLES.iter().map(|r| (*r).to_owned()).collect();
    for d in registry.all(store).await? {
        roles.extend(d.roles.iter().cloned());
    }
    Ok(roles)
}

/// The service points where `user` holds one of `roles` (an auditor's or admin's reach);
/// `None`: every one.
pub fn points_holding(user: &User, roles: &[&str]) -> Option<Vec<String>> {
    let mut points = Vec::new();
    for m in user
        .memberships
        .iter()
        .filter(|m| roles.contains(&m.role.as_str()))
    {
        if m.service_point == sopflow_store::Membership::EVERYWHERE {
            return None;
        }
        if !points.contains(&m.service_point) {
            points.push(m.service_point.clone());
        }
    }
    Some(points)
}

/// Where `user` works when they say nothing else: the first service point their memberships
/// name, or `default` (the deployment's default one) for someone who holds roles everywhere.
pub fn home_point(user: &User, default: &str) -> String {
    user.memberships
        .iter()
        .map(|m| m.service_point.as_str())
        .find(|p| *p != sopflow_store::Membership::EVERYWHERE)
        .unwrap_or(default)
        .to_owned()
}
