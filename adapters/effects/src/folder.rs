use std::path::{Path, PathBuf};

use crate::{
    AdapterError, BoxFuture, CardPrinter, IdempotencyKey, JobState, Lookup, PrintJob, PrintOutcome,
};

/// A "printer" that writes each card as `<key>.pdf` into a folder: the default when no printer
/// URI is configured (a print station picks the files up, or a developer looks at them).
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

    /// The file a key's card is written to.
    pub fn path_for(&self, key: &IdempotencyKey) -> PathBuf {
        self.dir.join(format!("{}.pdf", key.as_str()))
    }

    async fn print_job(&self, job: &PrintJob) -> Result<PrintOutcome, AdapterError> {
        let path = self.path_for(&job.key);
        let done = |already_submitted| PrintOutcome {
            job_ref: path.display().to_string(),
            state: JobState::Completed,
            reasons: Vec::new(),
            already_submitted,
        };
        if tokio::fs::try_exists(&path).await? {
            return Ok(done(true));
        }
        let pdf = crate::pdf::render_card(&job.card)?;
        tokio::fs::create_dir_all(&self.dir).await?;
        // A temporary name no other key can have (`.` may not start a key), unique per attempt.
        let tmp = self
            .dir
            .join(format!(".{}.{}.tmp", job.key.as_str(), std::process::id()));
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
        Ok(done(false))
    }

    async fn lookup_key(&self, key: &IdempotencyKey) -> Result<Lookup, AdapterError> {
        let path = self.path_for(key);
        Ok(if tokio::fs::try_exists(&path).await? {
            Lookup::Found {
                job_ref: path.display().to_string(),
                state: JobState::Completed,
            }
        } else {
            Lookup::NotFound
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
