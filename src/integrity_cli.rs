//! The integrity and privacy commands of the `sopflow` binary: the log's key and checkpoints
//! (`audit keygen`, `audit checkpoint`, `audit prove`, `audit check-proof`), `erase`,
//! `backup` and `restore`; and the tasks `serve` runs for them (signing checkpoints at an
//! interval and exporting them, the retention rule). The work is in `sopflow_audit`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration as StdDuration;

use anyhow::{Context, bail};
use sopflow_audit::checkpoint::{PublicKey, SignerKey, checkpoint};
use sopflow_audit::erase::{Source, erase_case, erase_expired};
use sopflow_audit::prove::{CaseProof, check, prove_case};
use sopflow_audit::verify::{VerifyOptions, verify_store};
use sopflow_core::config::{LogConfig, RetentionConfig};
use sopflow_store::{Checkpoint, Store};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::audit_cli::{cli_requester, connect, out};

/// Where `audit keygen` writes the key, and where the commands look for it.
pub const DEFAULT_KEY: &str = "./sopflow-log.key";

/// The public key file beside a key file (`sopflow-log.key` → `sopflow-log.pub`).
pub fn public_key_file(key: &Path) -> PathBuf {
    key.with_extension("pub")
}

/// A public key given as its text or as a file holding it.
pub fn read_public_key(given: &str) -> anyhow::Result<PublicKey> {
    let text = match std::fs::read_to_string(given) {
        Ok(text) => text,
        Err(_) if given.contains('+') => given.to_owned(),
        Err(e) => bail!("cannot read the public key {given}: {e}"),
    };
    PublicKey::parse(&text).with_context(|| format!("{given} is not the log's public key"))
}

/// The public key to verify with: the one given, else the `.pub` file beside the default key
/// if there is one.
pub fn public_key_or_default(given: Option<&str>) -> anyhow::Result<Option<PublicKey>> {
    match given {
        Some(given) => Ok(Some(read_public_key(given)?)),
        None => {
            let default = public_key_file(Path::new(DEFAULT_KEY));
            match default.is_file() {
                true => Ok(Some(read_public_key(&default.display().to_string())?)),
                false => Ok(None),
            }
        }
    }
}

/// Signed notes from files, or from every file of a directory.
pub fn read_checkpoints(paths: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let mut notes = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for file in files {
                notes.push(
                    std::fs::read_to_string(&file)
                        .with_context(|| format!("cannot read {}", file.display()))?,
                );
            }
        } else {
            notes.push(
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {}", path.display()))?,
            );
        }
    }
    Ok(notes)
}

/// `sopflow audit keygen`.
pub fn keygen(origin: &str, key: &Path) -> anyhow::Result<ExitCode> {
    let signer = SignerKey::generate(origin)?;
    signer.create_file(key).with_context(|| {
        format!(
            "cannot create the key file {} (it must not exist)",
            key.display()
        )
    })?;
    let public = signer.public().to_string();
    let public_file = public_key_file(key);
    std::fs::write(&public_file, format!("{public}\n"))
        .with_context(|| format!("cannot write {}", public_file.display()))?;
    out(&format!(
        "key written to {} (readable by you only: keep it off the database's machine's backups)\n\
         public key written to {}; publish it:\n{public}\n",
        key.display(),
        public_file.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `sopflow audit checkpoint`: signs one now, prints it, and writes it to `export`.
pub async fn sign_now(
    database: &str,
    key: &Path,
    export: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let signer = SignerKey::read_file(key)?;
    let store = connect(database).await?;
    let signed = checkpoint(&store, &signer, OffsetDateTime::now_utc(), false).await;
    store.close().await;
    let Some(signed) = signed? else {
        bail!("no checkpoint was signed");
    };
    if let Some(path) = export {
        std::fs::write(path, &signed.note)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    out(&signed.note)?;
    Ok(ExitCode::SUCCESS)
}

/// `sopflow audit prove CASE`.
pub async fn prove(
    database: &str,
    case_id: &str,
    checkpoint_file: Option<&Path>,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let note = match checkpoint_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => None,
    };
    let store = connect(database).await?;
    let proof = prove_case(&store, case_id, note.as_deref()).await;
    store.close().await;
    let json = serde_json::to_string_pretty(&proof?)? + "\n";
    match output {
        Some(path) => std::fs::write(path, json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => out(&json)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `sopflow audit check-proof FILE --public-key KEY`: needs no database.
pub fn check_proof(file: &Path, key: &str) -> anyhow::Result<ExitCode> {
    let key = read_public_key(key)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let proof: CaseProof = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an inclusion proof", file.display()))?;
    match check(&proof, &key) {
        Ok(checked) => {
            out(&format!(
                "ok: {} events of case {} are in the log of {key}, checkpoint of {} leaves signed at {}{}\n",
                checked.events,
                checked.case_id,
                checked.tree_size,
                checked.signed_at.format(&Rfc3339).unwrap_or_default(),
                match checked.not_covered {
                    0 => String::new(),
                    n => format!("; {n} later events are not covered by it yet"),
                }
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            out(&format!("REFUSED: {e}\n"))?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `sopflow erase CASE --reason TEXT`.
pub async fn erase(database: &str, case_id: &str, reason: &str) -> anyhow::Result<ExitCode> {
    let store = connect(database).await?;
    let erased = erase_case(
        &store,
        case_id,
        &cli_requester(),
        reason,
        Source::Request,
        OffsetDateTime::now_utc(),
    )
    .await;
    store.close().await;
    let erased = erased?;
    out(&format!(
        "erased the personal data of case {} ({} events), recorded as erasure {} at {}\n",
        erased.case_id,
        erased.events,
        erased.id,
        erased.at.format(&Rfc3339).unwrap_or_default()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The file of a `sqlite://PATH[?options]` URL; `None` for another database.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && !path.contains(":memory:")).then(|| PathBuf::from(path))
}

/// `sopflow backup --database sqlite://… -o FILE`: a consistent copy while the service runs.
pub async fn backup(database: &str, output: &Path) -> anyhow::Result<ExitCode> {
    if sqlite_path(database).is_none() {
        bail!(
            "`sopflow backup` copies an SQLite store; back up PostgreSQL with pg_dump or base \
             backups (see the README)"
        );
    }
    if output.exists() {
        bail!("{} exists: a backup never overwrites", output.display());
    }
    let store = connect(database).await?;
    let done = store.backup_into(output).await;
    let size = store.log_size().await;
    store.close().await;
    done.with_context(|| format!("cannot back up into {}", output.display()))?;
    out(&format!(
        "backed up to {} ({} log leaves)\n",
        output.display(),
        size.unwrap_or_default()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// `sopflow restore FILE --database sqlite://…`: verifies a copy of the backup in full and
/// only then puts it in place (never over an existing database).
pub async fn restore(
    file: &Path,
    database: &str,
    public_key: Option<&str>,
    checkpoints: &[PathBuf],
) -> anyhow::Result<ExitCode> {
    let Some(target) = sqlite_path(database) else {
        bail!(
            "`sopflow restore` restores an SQLite store; restore PostgreSQL with pg_restore, \
             then run `sopflow audit verify` on it (see the README)"
        );
    };
    if !file.is_file() {
        bail!("{} is not a backup file", file.display());
    }
    for existing in [
        target.clone(),
        PathBuf::from(format!("{}-wal", target.display())),
    ] {
        if existing.exists() {
            bail!(
                "{} exists: restore into a new path (stop the service, move the old database \
                 aside, then restore)",
                existing.display()
            );
        }
    }
    let public_key = public_key_or_default(public_key)?;
    let exported = read_checkpoints(checkpoints)?;
    // Checked as a copy beside the target: the backup file itself is never changed.
    let checking = PathBuf::from(format!("{}.restoring", target.display()));
    std::fs::copy(file, &checking)
        .with_context(|| format!("cannot copy {} to {}", file.display(), checking.display()))?;
    let url = format!("sqlite://{}", checking.display());
    let result = async {
        let store = connect(&url).await?;
        // Checkpoints signed after the backup was taken (over more leaves than it holds) are
        // what the restore loses, not a tamper of the backup: they are reported, and every
        // other one must match it.
        let held = u64::try_from(store.log_size().await?).unwrap_or(0);
        let (exported, later) = split_later(exported, public_key.as_ref(), held);
        let options = VerifyOptions {
            public_key: public_key.clone(),
            exported,
            ..VerifyOptions::default()
        };
        let report = verify_store(&store, &options, &mut |_| {}).await;
        store.close().await;
        anyhow::Ok((report?, later))
    }
    .await;
    let (report, later) = match result {
        Ok(done) => done,
        Err(e) => {
            remove_sqlite(&checking);
            return Err(e);
        }
    };
    let mut text = String::new();
    for finding in &report.findings {
        text.push_str(&format!("MISMATCH {finding}\n"));
    }
    if !report.ok() {
        remove_sqlite(&checking);
        text.push_str(&format!(
            "NOT RESTORED: the backup does not verify ({} mismatches in {} cases, {} leaves)\n",
            report.findings.len(),
            report.cases,
            report.leaves
        ));
        out(&text)?;
        return Ok(ExitCode::FAILURE);
    }
    // The checked copy's own WAL was folded in when its store closed.
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", checking.display()));
    }
    std::fs::rename(&checking, &target)
        .with_context(|| format!("cannot move the restored database to {}", target.display()))?;
    text.push_str(&format!(
        "restored to {}: verified {} cases, {} events, {} log leaves, {} checkpoints (signed up to {}){}\n",
        target.display(),
        report.cases,
        report.events,
        report.leaves,
        report.checkpoints,
        report.signed_size,
        match public_key {
            Some(_) => "",
            None => "; no public key given: checkpoints not checked",
        }
    ));
    if let Some((count, signed_size)) = later {
        text.push_str(&format!(
            "the backup holds {} log leaves; {count} checkpoints kept outside were signed later, \
             up to {signed_size} leaves: what was recorded after the backup is not in this \
             restore. The log goes on from the backup, so move those checkpoints aside (keep \
             them as the record of what was lost) before `sopflow audit verify --checkpoint`; \
             see the README, \"Backups\"\n",
            report.leaves
        ));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The exported checkpoints a backup of `held` leaves must match, and (how many, up to which
/// size) those signed over more leaves than it holds. Notes that do not open stay with the
/// first, to be refused by the verifier.
fn split_later(
    notes: Vec<String>,
    key: Option<&PublicKey>,
    held: u64,
) -> (Vec<String>, Option<(usize, u64)>) {
    let Some(key) = key else {
        return (notes, None);
    };
    let (mut matched, mut later, mut top) = (Vec::new(), 0, 0);
    for note in notes {
        match sopflow_audit::checkpoint::open(&note, key) {
            Ok(signed) if signed.size > held => {
                later += 1;
                top = top.max(signed.size);
            }
            _ => matched.push(note),
        }
    }
    (matched, (later > 0).then_some((later, top)))
}

fn remove_sqlite(path: &Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Writes a signed checkpoint where `config` exports them. Failures are logged: the
/// checkpoint is stored whatever happens to its copies.
pub async fn export_checkpoint(config: &LogConfig, signed: &Checkpoint) {
    if let Some(dir) = &config.export_dir {
        let name = format!("checkpoint-{:012}-{:06}.txt", signed.tree_size, signed.id);
        let path = dir.join(&name);
        let temporary = dir.join(format!(".{name}.tmp"));
        let written = std::fs::write(&temporary, &signed.note)
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(e) = written {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot export the checkpoint");
        }
    }
    if let Some(url) = &config.export_url {
        let posted = sopflow_effects::http::post(
            url,
            "text/plain; charset=utf-8",
            signed.note.clone().into_bytes(),
            StdDuration::from_secs(10),
        )
        .await;
        match posted {
            Ok(status) if (200..300).contains(&status) => {}
            Ok(status) => tracing::warn!(status, "the checkpoint witness refused the checkpoint"),
            Err(e) => tracing::warn!(error = %e, "cannot send the checkpoint to its witness"),
        }
    }
}

/// `serve`'s checkpointer: signs when the log has grown, every `checkpoint_every`, from the
/// start, and exports each checkpoint.
pub async fn run_checkpoints(store: Store, signer: SignerKey, config: LogConfig) {
    let every = StdDuration::from_secs(config.checkpoint_every.as_secs().max(1));
    loop {
        match checkpoint(&store, &signer, OffsetDateTime::now_utc(), true).await {
            Ok(Some(signed)) => {
                tracing::info!(
                    tree_size = signed.tree_size,
                    id = signed.id,
                    "signed a checkpoint"
                );
                export_checkpoint(&config, &signed).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot sign a checkpoint"),
        }
        tokio::time::sleep(every).await;
    }
}

/// `serve`'s retention rule: every `every`, erases the personal data of cases closed more
/// than `erase_closed_after_days` days ago.
pub async fn run_retention(store: Store, config: RetentionConfig) {
    let Some(days) = config.erase_closed_after_days else {
        return;
    };
    let every = StdDuration::from_secs(config.every.as_secs().max(1));
    let reason = format!("retention: closed more than {days} days ago");
    loop {
        let now = OffsetDateTime::now_utc();
        let before = now - time::Duration::days(i64::from(days));
        match erase_expired(&store, before, &reason, now, 200).await {
            Ok((done, refused)) => {
                if !done.is_empty() {
                    tracing::info!(cases = done.len(), "retention erased personal data");
                }
                for (case_id, why) in refused {
                    // The case id, never its data.
                    tracing::warn!(%case_id, reason = %why, "retention could not erase a case");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention run failed"),
        }
        tokio::time::sleep(every).await;
    }
}
