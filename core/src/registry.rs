//! The SOP versions a process knows: deployed from files or `POST /sops`, kept in the store,
//! compiled once and cached. A version is immutable and identified by its number and the
//! SHA-256 of its text; a case stays on the version it started on, so every version ever
//! used stays loadable. Which version new cases start on is decided by releases
//! ([`crate::releases`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sopflow_engine::case::chain::sha256_hex;
use sopflow_engine::sop::{self, Diagnostic, Sop};
use sopflow_store::{Effective, NewRelease, Store};
use time::{OffsetDateTime, UtcOffset};

use crate::releases::{self, Releaser};

/// One deployed SOP version, compiled.
#[derive(Debug)]
pub struct Deployed {
    pub sop_id: String,
    pub version: u32,
    pub content_hash: String,
    pub yaml: String,
    pub created_at: OffsetDateTime,
    pub sop: Sop,
    /// The roles that work it (see [`crate::access::working_roles`]): who sees its cases.
    pub roles: std::collections::BTreeSet<String>,
    /// The case fields its case schema marks `x-searchable`.
    pub searchable: Vec<String>,
}

/// Why a deployment was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("the SOP is invalid ({} problems)", .0.len())]
    Invalid(Vec<Diagnostic>),
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// Why a release was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("SOP `{sop_id}` has no version {version}")]
    NoVersion { sop_id: String, version: u32 },
    #[error("a release needs a reason")]
    NoReason,
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// A file of the definitions directory that did not deploy, with its problems as
/// `FILE:LINE:COLUMN: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub problems: Vec<String>,
}

#[derive(Debug, Default)]
struct Inner {
    versions: HashMap<(String, u32), Arc<Deployed>>,
    /// Files whose last change failed validation (the previous version stays active).
    file_problems: BTreeMap<String, Vec<String>>,
    /// Each definition file as the last sync saw it: a file whose content has not changed
    /// since is not deployed (or refused) again.
    files: HashMap<String, SeenFile>,
}

/// A definition file's content hash, and the SOP it deployed (none if it was refused).
#[derive(Debug, Clone)]
struct SeenFile {
    hash: String,
    sop_id: Option<String>,
}

/// Cheap to clone; shared by the handlers, the ticker and the watcher.
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<RwLock<Inner>>,
    /// The office's UTC offset: an effective date takes effect at its local midnight.
    utc_offset: UtcOffset,
}

impl Default for Registry {
    /// A registry for an office on UTC.
    fn default() -> Self {
        Self::new(UtcOffset::UTC)
    }
}

impl Registry {
    /// A registry for an office at `utc_offset`.
    pub fn new(utc_offset: UtcOffset) -> Self {
        Self {
            inner: Arc::default(),
            utc_offset,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Validates `yaml`, stores it as a new version (or finds the identical one, never
    /// numbering the same text twice) and releases it: new cases start on it from now, or
    /// from its Tanggal Efektif when that lies ahead.
    pub async fn deploy(
        &self,
        store: &Store,
        yaml: &str,
        releaser: &Releaser,
    ) -> Result<Arc<Deployed>, DeployError> {
        let compiled = sop::load(yaml).map_err(DeployError::Invalid)?;
        let deployed = self.deploy_compiled(store, yaml, compiled).await?;
        self.release_deployed(store, &deployed, releaser).await?;
        Ok(deployed)
    }

    /// Releases a version just deployed, at its own effective date.
    async fn release_deployed(
        &self,
        store: &Store,
        deployed: &Deployed,
        releaser: &Releaser,
    ) -> Result<(), sopflow_store::Error> {
        let now = OffsetDateTime::now_utc();
        let effective = releases::effective_for(
            deployed.sop.document().header.dates.effective_date(),
            now,
            self.utc_offset,
        );
        store
            .record_release(&NewRelease {
                sop_id: deployed.sop_id.clone(),
                version: deployed.version,
                effective,
                source: releaser.source.clone(),
                released_by: releaser.by.clone(),
                reason: releaser.reason.clone(),
                recorded_at: now,
            })
            .await?;
        Ok(())
    }

    /// Chooses `version` for the new cases of `sop_id` from `effective` on (an
    /// administrator's decision, e.g. a rollback).
    pub async fn release(
        &self,
        store: &Store,
        sop_id: &str,
        version: u32,
        effective: Option<time::Date>,
        releaser: &Releaser,
    ) -> Result<sopflow_store::Release, ReleaseError> {
        if releaser.reason.trim().is_empty() {
            return Err(ReleaseError::NoReason);
        }
        if self.get(store, sop_id, version).await?.is_none() {
            return Err(ReleaseError::NoVersion {
                sop_id: sop_id.to_owned(),
                version,
            });
        }
        let now = OffsetDateTime::now_utc();
        let effective = match effective {
            Some(date) => releases::effective_for(Some(date), now, self.utc_offset),
            None => Effective::At(now),
        };
        let id = store
            .record_release(&NewRelease {
                sop_id: sop_id.to_owned(),
                version,
                effective,
                source: releaser.source.clone(),
                released_by: releaser.by.clone(),
                reason: releaser.reason.clone(),
                recorded_at: now,
            })
            .await?;
        tracing::info!(sop_id, version, release = id, by = %releaser.by, "SOP version released");
        let all = store.releases(Some(sop_id)).await?;
        all.into_iter().find(|r| r.id == id).ok_or_else(|| {
            ReleaseError::Store(sopflow_store::Error::NotFound(format!("release {id}")))
        })
    }

    /// The version new cases of `sop_id` start on at `at`: that of the release in force, or,
    /// for an SOP without releases (deployed before releases were kept), the newest.
    pub async fn in_force(
        &self,
        store: &Store,
        sop_id: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Arc<Deployed>>, sopflow_store::Error> {
        self.in_force_at(store, sop_id, at, self.utc_offset).await
    }

    /// [`Registry::in_force`] at a service point whose zone is `offset`: a dated release
    /// takes effect at its local midnight.
    pub async fn in_force_at(
        &self,
        store: &Store,
        sop_id: &str,
        at: OffsetDateTime,
        offset: UtcOffset,
    ) -> Result<Option<Arc<Deployed>>, sopflow_store::Error> {
        let all = store.releases(Some(sop_id)).await?;
        match releases::in_force(&all, at, offset) {
            Some(r) => self.get(store, sop_id, r.version).await,
            None if all.is_empty() => self.latest(store, sop_id).await,
            // Every release is still ahead: nothing serves yet.
            None => Ok(None),
        }
    }

    /// The office's UTC offset (effective dates take effect at its midnight).
    pub fn utc_offset(&self) -> UtcOffset {
        self.utc_offset
    }

    /// Stores the validated `compiled` form of `yaml` (see [`Registry::deploy`]).
    async fn deploy_compiled(
        &self,
        store: &Store,
        yaml: &str,
        compiled: Sop,
    ) -> Result<Arc<Deployed>, DeployError> {
        let hash = sha256_hex(yaml.as_bytes());
        let sop_id = compiled.id().to_owned();
        let (version, _created) = store
            .put_sop_version(&sop_id, &hash, yaml, OffsetDateTime::now_utc())
            .await?;
        let stored = store.sop_version(&sop_id, version).await?;
        let created_at = stored
            .map(|s| s.created_at)
            .unwrap_or_else(OffsetDateTime::now_utc);
        let deployed = Arc::new(Deployed {
            sop_id: sop_id.clone(),
            version,
            content_hash: hash,
            yaml: yaml.to_owned(),
            created_at,
            roles: crate::access::working_roles(&compiled),
            searchable: searchable_fields(&compiled),
            sop: compiled,
        });
        self.write()
            .versions
            .insert((sop_id, deployed.version), deployed.clone());
        Ok(deployed)
    }

    /// A version, compiled from the store on first use (another process may have deployed it).
    pub async fn get(
        &self,
        store: &Store,
        sop_id: &str,
        version: u32,
    ) -> Result<Option<Arc<Deployed>>, sopflow_store::Error> {
        if let Some(found) = self.read().versions.get(&(sop_id.to_owned(), version)) {
            return Ok(Some(found.clone()));
        }
        let Some(stored) = store.sop_version(sop_id, version).await? else {
            return Ok(None);
        };
        // Stored versions passed validation when deployed; one that no longer compiles (a
        // stricter build) is reported rather than run.
        let compiled = match sop::load(&stored.yaml) {
            Ok(c) => c,
            Err(problems) => {
                tracing::error!(
                    sop_id,
                    version,
                    problems = problems.len(),
                    "stored SOP version no longer validates"
                );
                return Ok(None);
            }
        };
        let deployed = Arc::new(Deployed {
            sop_id: stored.sop_id.clone(),
            version,
            content_hash: stored.content_hash,
            yaml: stored.yaml,
            created_at: stored.created_at,
            roles: crate::access::working_roles(&compiled),
            searchable: searchable_fields(&compiled),
            sop: compiled,
        });
        self.write()
            .versions
            .insert((sop_id.to_owned(), version), deployed.clone());
        Ok(Some(deployed))
    }

    /// Every stored version of every SOP, compiled, by sop_id then version (one that no
    /// longer compiles left out, as [`Registry::get`]). The store lists only the keys: the
    /// texts are read once per process, when a version is first compiled.
    pub async fn all(&self, store: &Store) -> Result<Vec<Arc<Deployed>>, sopflow_store::Error> {
        let mut out = Vec::new();
        for (sop_id, version) in store.sop_version_keys().await? {
            if let Some(d) = self.get(store, &sop_id, version).await? {
                out.push(d);
            }
        }
        Ok(out)
    }

    /// The newest version of an SOP, as the store knows it (across processes).
    pub async fn latest(
        &self,
        store: &Store,
        sop_id: &str,
    ) -> Result<Option<Arc<Deployed>>, sopflow_store::Error> {
        let versions = store.sop_versions(sop_id).await?;
        match versions.iter().map(|v| v.version).max() {
            Some(v) => self.get(store, sop_id, v).await,
            None => Ok(None),
        }
    }

    /// Deploys every `*.yaml` / `*.yml` file of `dir` whose content changed since the last
    /// sync (at start: every file). Invalid files are remembered with their problems and
    /// logged once per content; their SOP keeps its previous version. Two files declaring the
    /// same SOP id are ambiguous: the changed one is refused, naming the other.
    pub async fn sync_dir(&self, store: &Store, dir: &Path) -> Vec<FileProblem> {
        metrics::counter!("sopflow_definition_syncs_total").increment(1);
        let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                .collect(),
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "cannot read the definitions directory");
                return Vec::new();
            }
        };
        paths.sort();
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        {
            // Removed files are forgotten: their SOPs keep their versions (cases need them).
            let mut inner = self.write();
            inner.files.retain(|name, _| names.contains(name));
            inner.file_problems.retain(|name, _| names.contains(name));
        }
        // Changed files, compiled.
        let mut changed = Vec::new();
        for (path, name) in paths.iter().zip(names) {
            let text = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) => {
                    let d = Diagnostic::new(
                        sop::Layer::Syntax,
                        sop::source_map::Pos { line: 1, column: 1 },
                        "",
                        format!("cannot read: {e}"),
                    );
                    changed.push((name, String::new(), String::new(), Err(vec![d])));
                    continue;
                }
            };
            let hash = sha256_hex(text.as_bytes());
            let unchanged = self.read().files.get(&name).is_some_and(|f| f.hash == hash);
            if !unchanged {
                let compiled = sop::load(&text);
                changed.push((name, text, hash, compiled));
            }
        }
        // Which file declares which SOP, after this sync.
        let mut declared: Vec<(String, String)> = self
            .read()
            .files
            .iter()
            .filter(|(name, _)| !changed.iter().any(|(n, ..)| n == *name))
            .filter_map(|(name, f)| Some((f.sop_id.clone()?, name.clone())))
            .collect();
        for (name, _, _, compiled) in &changed {
            if let Ok(sop) = compiled {
                declared.push((sop.id().to_owned(), name.clone()));
            }
        }
        let mut problems = Vec::new();
        for (name, text, hash, compiled) in changed {
            let outcome = match compiled {
                Err(diagnostics) => Err(DeployError::Invalid(diagnostics)),
                Ok(sop) => match declared
                    .iter()
                    .find(|(id, other)| id == sop.id() && *other != name)
                {
                    Some((id, other)) => Err(DeployError::Invalid(vec![Diagnostic::new(
                        sop::Layer::References,
                        sop::source_map::Pos {
                            line: top_level_line(&text, "id"),
                            column: 1,
                        },
                        "/id",
                        format!(
                            "SOP `{id}` is also declared in {other}: one file per SOP; \
                             neither file's change is deployed until one of them is renamed \
                             or removed"
                        ),
                    )])),
                    None => self.deploy_file(store, &name, &text, sop).await,
                },
            };
            let sop_id = match outcome {
                Ok((sop_id, version)) => {
                    tracing::info!(file = %name, sop_id, version, "SOP deployed");
                    self.write().file_problems.remove(&name);
                    Some(sop_id)
                }
                Err(DeployError::Invalid(diagnostics)) => {
                    let lines: Vec<String> = diagnostics
                        .iter()
                        .map(|d| d.display_with(&name).to_string())
                        .collect();
                    for line in &lines {
                        tracing::warn!(problem = %line, "SOP file refused; the previous version stays active");
                    }
                    self.write()
                        .file_problems
                        .insert(name.clone(), lines.clone());
                    problems.push(FileProblem {
                        file: name.clone(),
                        problems: lines,
                    });
                    None
                }
                Err(DeployError::Store(e)) => {
                    // Not remembered: the next sync tries again.
                    tracing::error!(file = %name, error = %e, "SOP deployment failed in the store");
                    continue;
                }
            };
            self.write().files.insert(name, SeenFile { hash, sop_id });
        }
        problems
    }

    /// Deploys a changed definition file's SOP and releases it, unless the last release from
    /// that file already was this version (the file was seen before this process started).
    async fn deploy_file(
        &self,
        store: &Store,
        name: &str,
        text: &str,
        compiled: Sop,
    ) -> Result<(String, u32), DeployError> {
        let deployed = self.deploy_compiled(store, text, compiled).await?;
        let releaser = Releaser::file(name);
        let last_from_file = store
            .releases(Some(&deployed.sop_id))
            .await?
            .into_iter()
            .rev()
            .find(|r| r.source == releaser.source)
            .map(|r| r.version);
        if last_from_file != Some(deployed.version) {
            self.release_deployed(store, &deployed, &releaser).await?;
        }
        Ok((deployed.sop_id.clone(), deployed.version))
    }

    /// Files whose last version was refused, with their problems.
    pub fn file_problems(&self) -> Vec<FileProblem> {
        self.read()
            .file_problems
            .iter()
            .map(|(file, problems)| FileProblem {
                file: file.clone(),
                problems: problems.clone(),
            })
            .collect()
    }

    /// Every version compiled in this process.
    pub fn loaded(&self) -> Vec<Arc<Deployed>> {
        let mut all: Vec<Arc<Deployed>> = self.read().versions.values().cloned().collect();
        all.sort_by(|a, b| (&a.sop_id, a.version).cmp(&(&b.sop_id, b.version)));
        all
    }

    /// Watches `dir` and re-syncs it once changes have settled. Only changes of files count
    /// (created, written, renamed, removed): reading them, as a sync does, is no change, so an
    /// idle folder costs nothing. Runs until the guard is dropped.
    pub fn watch(&self, store: Store, dir: PathBuf) -> Result<WatchGuard, notify::Error> {
        use notify::Watcher;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if event.is_ok_and(|e| is_change(&e.kind)) {
                    let _ = tx.send(());
                }
            })?;
        watcher.watch(&dir, notify::RecursiveMode::NonRecursive)?;
        let registry = self.clone();
        let task = tokio::spawn(async move {
            while rx.recv().await.is_some() {
                // Editors save in several writes: wait until none came for SETTLE.
                loop {
                    match tokio::time::timeout(SETTLE, rx.recv()).await {
                        Ok(Some(())) => continue,
                        Ok(None) => return,
                        Err(_) => break,
                    }
                }
                registry.sync_dir(&store, &dir).await;
            }
        });
        Ok(WatchGuard {
            _watcher: watcher,
            task,
        })
    }
}

/// How long the definitions folder must be quiet before a changed file is read.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(300);

/// Whether a watcher event may have changed a file's content or name.
fn is_change(kind: &notify::EventKind) -> bool {
    use notify::EventKind;
    use notify::event::ModifyKind;
    match kind {
        // Opening and reading a file (a sync does), or touching its times or mode.
        EventKind::Access(_) | EventKind::Modify(ModifyKind::Metadata(_)) => false,
        // Unknown kinds may be changes (a watcher that lost events asks for a rescan).
        _ => true,
    }
}

/// The 1-based line of a top-level key `key:` in a YAML text (1 when not found).
fn top_level_line(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(1, |i| i + 1)
}

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchGuard {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The case fields an SOP marks `x-searchable`.
fn searchable_fields(sop: &Sop) -> Vec<String> {
    sop.document()
        .searchable_fields()
        .into_iter()
        .map(str::to_owned)
        .collect()
}
