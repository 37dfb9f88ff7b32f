use std::path::{Path, PathBuf};

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
/// (written to a temporary name, synced, then renamed), and printing a key whose file exists
/// writes nothing.
#[derive(Debug, Clone)]
pub struct FolderPrinter {
    dir: PathBuf,
}

impl FolderPrinter {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
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

    async fn print_job(&self, job: &PrintJob) -> Result<PrintOutcome, AdapterError> {
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
        tokio::fs::create_dir_all(&self.dir).await?;
        // A temporary name no other key can have (`.` may not start a key), unique per attempt.
        let tmp = self.dir.join(format!(
            ".{}.{}.tmp",
            portable(&job.key),
            std::process::id()
        ));
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
