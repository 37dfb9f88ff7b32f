use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use crate::{
    AdapterError, BoxFuture, CardPrinter, IdempotencyKey, JobState, Lookup, PrintJob, PrintOutcome,
};

/// A "printer" that writes each document as a PDF named after its key into a folder: the
/// default when no printer URI is configured (a print station picks the files up, or a
/// developer looks at them). The names are portable: the key's `:` becomes `+` (offices print
/// to SMB shares and Windows machines, where `:` cannot be in a name), so
/// `case:cetak_ktp:1` is written as `case+cetak_ktp+1.pdf`.
///
/// The folder is the printer's memory and it never forgets: [`lookup`](CardPrinter::lookup)
/// answers [`Lookup::NotFound`] only when no file has the key. A file appears whole or not at all
/// (written in the hidden subfolder [`STAGING`], synced, then renamed into the folder), and
/// printing a key whose file exists writes nothing.
///
/// The temporary files live in a subfolder, not beside the cards, so that a process killed
/// mid-write leaves no complete card under a temporary name where a print station picks files
/// up; a subfolder (not the system's temp folder) because the rename must stay on the print
/// folder's file system, which may be a mounted share. Stale temporary files (there, and the
/// `.KEY.PID.tmp` files earlier builds left in the folder itself) are removed the first time the
/// printer is used after a start.
#[derive(Debug, Clone)]
pub struct FolderPrinter {
    dir: PathBuf,
    cleaned: Arc<AtomicBool>,
}

/// The subfolder of the print folder holding files being written.
pub const STAGING: &str = ".sopflow-staging";

/// A temporary file older than this is left from a process that died mid-write. (A write
/// takes milliseconds; the margin keeps a cleaner from taking the file of another process
/// printing into the same folder.)
const STALE_AFTER: Duration = Duration::from_secs(60);

impl FolderPrinter {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            cleaned: Arc::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file a key's document is written to. `+` is not allowed in a key, so two keys
    /// never share a file.
    pub fn path_for(&self, key: &IdempotencyKey) -> PathBuf {
        self.dir.join(format!("{}.pdf", portable(key)))
    }

    /// Where an earlier build wrote the key's card (the key as it is, `:` included), so that
    /// a card printed before the names became portable is still found, never printed again.
    fn legacy_path_for(&self, key: &IdempotencyKey) -> Option<PathBuf> {
        key.as_str()
            .contains(':')
            .then(|| self.dir.join(format!("{}.pdf", key.as_str())))
    }

    /// The file holding the key's document, if one was written (under either name).
    async fn written(&self, key: &IdempotencyKey) -> Result<Option<PathBuf>, AdapterError> {
        let path = self.path_for(key);
        if tokio::fs::try_exists(&path).await? {
            return Ok(Some(path));
        }
        if let Some(legacy) = self.legacy_path_for(key)
            && tokio::fs::try_exists(&legacy).await.unwrap_or(false)
        {
            return Ok(Some(legacy));
        }
        Ok(None)
    }

    /// Removes stale temporary files, once per printer (the first time it is used).
    async fn clean_once(&self) {
        if self.cleaned.swap(true, Ordering::Relaxed) {
            return;
        }
        let now = SystemTime::now();
        let stale = |entry: &tokio::fs::DirEntry, meta: &std::fs::Metadata| {
            meta.is_file()
                && entry.file_name().to_string_lossy().ends_with(".tmp")
                && meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age >= STALE_AFTER)
        };
        for (dir, hidden_only) in [(self.dir.join(STAGING), false), (self.dir.clone(), true)] {
            let Ok(mut entries) = tokio::fs::read_dir(&dir).await else {
                continue;
            };
            while let Ok(Some(entry)) = entries.next_entry().await {
                let Ok(meta) = entry.metadata().await else {
                    continue;
                };
                // In the folder itself only the hidden `.KEY.PID.tmp` of earlier builds.
                if hidden_only && !entry.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                if stale(&entry, &meta) {
                    let _ = tokio::fs::remove_file(entry.path()).await;
                }
            }
        }
    }

    async fn print_job(&self, job: &PrintJob) -> Result<PrintOutcome, AdapterError> {
        self.clean_once().await;
        let done = |path: &Path, already_submitted| PrintOutcome {
            job_ref: path.display().to_string(),
            state: JobState::Completed,
            reasons: Vec::new(),
            already_submitted,
        };
        if let Some(existing) = self.written(&job.key).await? {
            return Ok(done(&existing, true));
        }
        let path = self.path_for(&job.key);
        let pdf = crate::pdf::render(&job.document)?;
        let staging = self.dir.join(STAGING);
        tokio::fs::create_dir_all(&staging).await?;
        // A temporary name no other key has, unique per process.
        let tmp = staging.join(format!("{}.{}.tmp", portable(&job.key), std::process::id()));
        let write = async {
            let mut file = tokio::fs::File::create(&tmp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &pdf).await?;
            file.sync_all().await?;
            drop(file);
            // Two concurrent attempts with the same key write the same bytes; the second rename
            // replaces the first file with an identical one, so there is still one card.
            tokio::fs::rename(&tmp, &path).await
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        Ok(done(&path, false))
    }

    async fn lookup_key(&self, key: &IdempotencyKey) -> Result<Lookup, AdapterError> {
        self.clean_once().await;
        Ok(match self.written(key).await? {
            Some(path) => Lookup::Found {
                job_ref: path.display().to_string(),
                state: JobState::Completed,
            },
            None => Lookup::NotFound,
        })
    }
}

impl CardPrinter for FolderPrinter {
    fn print<'a>(&'a self, job: &'a PrintJob) -> BoxFuture<'a, Result<PrintOutcome, AdapterError>> {
        Box::pin(self.print_job(job))
    }

    fn lookup<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Lookup, AdapterError>> {
        Box::pin(self.lookup_key(key))
    }
}

/// A key as a portable file name: `:` (refused by Windows and SMB shares) becomes `+`, which
/// no key holds, so the mapping stays one to one.
fn portable(key: &IdempotencyKey) -> String {
    key.as_str().replace(':', "+")
}
