//! The auditor's commands of the `sopflow` binary: `audit verify`, `audit anchor`, `replay`,
//! `export`, `report`. The work is in `sopflow_audit`; this is flags and printing.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sopflow_audit::anchor::{Anchor, make_anchor};
use sopflow_audit::export::{ExportFormat, ExportRequest, Exporter};
use sopflow_audit::replay::{Replay, replay_case};
use sopflow_audit::report::{SopReport, report};
use sopflow_audit::verify::{VerifyOptions, verify_store};
use sopflow_audit::{self as audit, Personal, Requester, record_access};
use sopflow_store::Store;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::integrity_cli as integrity;

pub(crate) const DEFAULT_DB: &str = "sqlite://./sopflow.db";

/// `sopflow export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// RFC 3339, e.g. 2026-01-01T00:00:00+07:00.
    #[arg(long)]
    from: String,
    #[arg(long)]
    to: String,
    #[arg(long, value_enum, default_value = "jsonl")]
    format: CliExportFormat,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    #[arg(long, requires = "reason")]
    reveal: bool,
    #[arg(long)]
    reason: Option<String>,
    #[arg(long, default_value = DEFAULT_DB)]
    database: String,
}

#[derive(Subcommand)]
pub enum AuditCommands {
    /// Auditors' checks of the stored histories: verify, anchor, log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A case step by step: who did what and when, documents, guards and branches, time per
    /// step against its budget, and the state as of an event. Personal data is masked unless
    /// --reveal is given with a --reason (recorded in the audit-access log).
    Replay {
        case_id: String,
        /// Replay up to this event (default: the whole history).
        #[arg(long)]
        until: Option<u64>,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        /// Print the replay as JSON (the API's form).
        #[arg(long)]
        json: bool,
        /// Show personal data unmasked; needs --reason.
        #[arg(long, requires = "reason")]
        reveal: bool,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Export the histories of the cases started in [--from, --to) as JSON Lines or CSV.
    /// Recorded in the audit-access log; personal data masked unless --reveal --reason.
    Export(ExportArgs),
    /// Erase a closed case's personal data (UU 27/2022): its events keep the salted hashes of
    /// the values (so its chain, the log and every checkpoint still verify), its salt, scans
    /// and the personal values of its outbox rows go. Recorded, with the reason, in the log.
    Erase {
        case_id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
    },
    /// A consistent copy of the SQLite store (VACUUM INTO) while the service runs.
    /// PostgreSQL: pg_dump or base backups (see the README).
    Backup {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        /// The new file.
        #[arg(long, short)]
        output: PathBuf,
    },
    /// Restore an SQLite backup: a copy of it is verified in full (chains, decisions,
    /// projections, the log and its checkpoints) and only then put at --database, which
    /// must not exist.
    Restore {
        file: PathBuf,
        #[arg(long)]
        database: String,
        /// The log's public key (text or file) [default: ./sopflow-log.pub if present].
        #[arg(long)]
        public_key: Option<String>,
        /// Checkpoints kept outside the database (a file or a directory of them).
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
    },
    /// Per SOP version: per step p50/p90 time against its budget, breaches, and the share of
    /// cases that reached each consultation step and went round each loop of the SOP.
    Report {
        #[arg(long)]
        sop: Option<String>,
        /// Only this version (with --sop).
        #[arg(long, requires = "sop")]
        version: Option<u32>,
        /// Only the cases of this service point.
        #[arg(long = "at")]
        at: Option<String>,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Check every case: stored rows, hash chain, head, and a replay against its pinned SOP
    /// version re-evaluating each decision; with --anchor, that every case head of the anchor
    /// is still in its history. Exits 1 naming the case, event and reason of each mismatch.
    Verify {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        /// Only this case.
        #[arg(long)]
        case: Option<String>,
        /// An anchor file written by `sopflow audit anchor --output`.
        #[arg(long)]
        anchor: Option<PathBuf>,
        /// The log's public key, as printed by `audit keygen` (text or file)
        /// [default: ./sopflow-log.pub if present]. Every stored checkpoint must be signed
        /// by it.
        #[arg(long)]
        public_key: Option<String>,
        /// Checkpoints kept outside the database (a file, or a directory of them): each must
        /// verify, match the log and still be stored.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
        /// The office's time zone (queue numbers run per local day).
        #[arg(long, default_value = "Asia/Jakarta")]
        timezone: String,
    },
    /// Create the log's signing key (a file only you can read) and print its public key,
    /// to publish: checkpoints are checked with it.
    Keygen {
        /// The log's name (its origin), e.g. the office's domain and `/sopflow`.
        #[arg(long, default_value = "sopflow")]
        origin: String,
        #[arg(long, default_value = crate::integrity_cli::DEFAULT_KEY)]
        key: PathBuf,
    },
    /// Sign a checkpoint of the log now (tree size, root, time), store it, print it (a signed
    /// note), and with --export write it to a file too.
    Checkpoint {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        #[arg(long, default_value = crate::integrity_cli::DEFAULT_KEY)]
        key: PathBuf,
        #[arg(long)]
        export: Option<PathBuf>,
    },
    /// An inclusion proof of a case's events against a checkpoint (--checkpoint FILE, e.g. a
    /// published one; default the latest stored), as JSON: checkable with the public key
    /// alone (`audit check-proof`, or any RFC 9162 verifier).
    Prove {
        case_id: String,
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Check an inclusion proof with the log's public key only (no database).
    CheckProof {
        file: PathBuf,
        #[arg(long)]
        public_key: String,
    },
    /// List the audit-access log: every export, and every reveal of personal data with its
    /// reason (oldest first).
    Log {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
    },
    /// Print an anchor hash over all case heads (with the count and time); --output writes
    /// the anchor as JSON for a later `audit verify --anchor`.
    Anchor {
        #[arg(long, default_value = DEFAULT_DB)]
        database: String,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum CliExportFormat {
    Jsonl,
    Csv,
}

pub async fn run(command: AuditCommands) -> anyhow::Result<ExitCode> {
    match command {
        AuditCommands::Audit {
            command:
                AuditCommand::Verify {
                    database,
                    case,
                    anchor,
                    public_key,
                    checkpoints,
                    timezone,
                },
        } => {
            let extra = VerifyExtra {
                public_key,
                checkpoints,
                timezone,
            };
            verify(&database, case, anchor, extra).await
        }
        AuditCommands::Audit {
            command: AuditCommand::Keygen { origin, key },
        } => integrity::keygen(&origin, &key),
        AuditCommands::Audit {
            command:
                AuditCommand::Checkpoint {
                    database,
                    key,
                    export,
                },
        } => integrity::sign_now(&database, &key, export.as_deref()).await,
        AuditCommands::Audit {
            command:
                AuditCommand::Prove {
                    case_id,
                    database,
                    checkpoint,
                    output,
                },
        } => {
            integrity::prove(
                &database,
                &case_id,
                checkpoint.as_deref(),
                output.as_deref(),
            )
            .await
        }
        AuditCommands::Audit {
            command: AuditCommand::CheckProof { file, public_key },
        } => integrity::check_proof(&file, &public_key),
        AuditCommands::Erase {
            case_id,
            reason,
            database,
        } => integrity::erase(&database, &case_id, &reason).await,
        AuditCommands::Backup { database, output } => integrity::backup(&database, &output).await,
        AuditCommands::Restore {
            file,
            database,
            public_key,
            checkpoints,
        } => integrity::restore(&file, &database, public_key.as_deref(), &checkpoints).await,
        AuditCommands::Audit {
            command: AuditCommand::Anchor { database, output },
        } => anchor(&database, output).await,
        AuditCommands::Audit {
            command: AuditCommand::Log { database },
        } => access_log(&database).await,
        AuditCommands::Replay {
            case_id,
            until,
            database,
            json,
            reveal,
            reason,
        } => replay(&database, &case_id, until, json, reveal, reason).await,
        AuditCommands::Export(args) => export(&args).await,
        AuditCommands::Report {
            sop,
            version,
            at,
            database,
            json,
        } => print_report(&database, sop, version, at, json).await,
    }
}

pub(crate) async fn connect(database: &str) -> anyhow::Result<Store> {
    Store::connect(database)
        .await
        .with_context(|| format!("cannot open {}", crate::serve::redact_url(database)))
}

/// Who the CLI records as asking: it has no token, so the operating-system user.
pub(crate) fn cli_requester() -> Requester {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    Requester {
        user: format!("cli:{user}"),
        role: "cli".to_owned(),
    }
}

pub(crate) fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to standard output")
        }
        _ => Ok(()),
    }
}

/// `audit verify`'s flags for the log.
struct VerifyExtra {
    public_key: Option<String>,
    checkpoints: Vec<PathBuf>,
    timezone: String,
}

async fn verify(
    database: &str,
    case: Option<String>,
    anchor_file: Option<PathBuf>,
    extra: VerifyExtra,
) -> anyhow::Result<ExitCode> {
    let public_key = integrity::public_key_or_default(extra.public_key.as_deref())?;
    let exported = integrity::read_checkpoints(&extra.checkpoints)?;
    if !exported.is_empty() && public_key.is_none() {
        anyhow::bail!("checking exported checkpoints needs the log's public key (--public-key)");
    }
    let utc_offset = sopflow_core::config::Config {
        timezone: extra.timezone.clone(),
        ..sopflow_core::config::Config::default()
    }
    .utc_offset()?;
    let store = connect(database).await?;
    let anchor = match &anchor_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let anchor: Anchor = serde_json::from_str(&text)
                .with_context(|| format!("{} is not an anchor file", path.display()))?;
            anchor
                .check_self()
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Some(anchor)
        }
        None => None,
    };
    let total = match &case {
        Some(_) => 1,
        None => audit::count_cases(&store).await?,
    };
    // Drawn only for a person watching: hidden when stderr is a file or a pipe.
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} cases ({per_sec}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let options = VerifyOptions {
        case,
        anchor: anchor.clone(),
        public_key: public_key.clone(),
        exported,
        utc_offset,
        service_points: None,
    };
    let result = verify_store(&store, &options, &mut |_| bar.inc(1)).await;
    bar.finish_and_clear();
    store.close().await;
    let report = result?;
    let mut text = String::new();
    for finding in &report.findings {
        text.push_str(&format!("MISMATCH {finding}\n"));
    }
    if let Some(anchor) = &anchor {
        text.push_str(&format!(
            "anchor {} of {} ({} cases): {} heads checked\n",
            anchor.anchor,
            anchor.created_at.format(&Rfc3339).unwrap_or_default(),
            anchor.cases,
            report.anchor_heads
        ));
    }
    if report.leaves > 0 || report.checkpoints > 0 {
        text.push_str(&format!(
            "log: {} leaves, {} checkpoints checked{}, signed up to {}\n",
            report.leaves,
            report.checkpoints,
            match &public_key {
                Some(key) => format!(" with {key}"),
                None => String::new(),
            },
            report.signed_size
        ));
    }
    if report.unpinned_sop_texts > 0 {
        text.push_str(&format!(
            "{} cases started before SOP text hashes were recorded: their texts are checked against the stored hashes only\n",
            report.unpinned_sop_texts
        ));
    }
    if report.erased_cases > 0 {
        text.push_str(&format!(
            "{} erased cases: decisions on their erased personal values are taken as recorded\n",
            report.erased_cases
        ));
    }
    text.push_str(&format!(
        "verified {} cases, {} events: {}\n",
        report.cases,
        report.events,
        match report.findings.len() {
            0 => "ok".to_owned(),
            n => format!("{n} mismatches"),
        }
    ));
    out(&text)?;
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn access_log(database: &str) -> anyhow::Result<ExitCode> {
    let store = connect(database).await?;
    let mut after = 0;
    let mut text = String::new();
    loop {
        let page = store.audit_accesses(after, 500).await?;
        for a in &page {
            text.push_str(&format!(
                "{}\t{}\t{} ({})\t{}\t{}\t{}\n",
                a.id,
                rfc(a.at),
                a.user_name,
                a.role,
                a.action,
                if a.revealed { "revealed" } else { "masked" },
                a.reason.as_deref().unwrap_or("-")
            ));
            text.push_str(&format!("\t{}\n", a.scope));
            after = a.id;
        }
        if page.len() < 500 {
            break;
        }
    }
    store.close().await;
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

async fn anchor(database: &str, output: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let store = connect(database).await?;
    let anchor = make_anchor(&store, OffsetDateTime::now_utc()).await;
    store.close().await;
    let anchor = anchor?;
    if let Some(path) = &output {
        let json = serde_json::to_string_pretty(&anchor)?;
        std::fs::write(path, json + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    out(&format!(
        "anchor {}\ncases {}\nat {}\n",
        anchor.anchor,
        anchor.cases,
        anchor.created_at.format(&Rfc3339).unwrap_or_default()
    ))?;
    Ok(ExitCode::SUCCESS)
}

async fn replay(
    database: &str,
    case_id: &str,
    until: Option<u64>,
    json: bool,
    reveal: bool,
    reason: Option<String>,
) -> anyhow::Result<ExitCode> {
    let shown = Personal::requested(reveal, reason.as_deref())?;
    let store = connect(database).await?;
    let replay = replay_case(&store, case_id, until, &shown).await;
    let replay = match replay {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    if shown.is_revealed() {
        let scope = format!("case {case_id} until event {}", replay.until);
        record_access(
            &store,
            &cli_requester(),
            "replay",
            &scope,
            &shown,
            OffsetDateTime::now_utc(),
        )
        .await?;
    }
    store.close().await;
    if json {
        out(&(serde_json::to_string_pretty(&replay)? + "\n"))?;
    } else {
        out(&replay_text(&replay))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn rfc(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn duration(seconds: u64) -> String {
    match seconds {
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn replay_text(r: &Replay) -> String {
    let mut t = format!(
        "case {} on {} version {} (sha256 {})\nevents 1..{} of {}; personal data {}\n",
        r.case_id,
        r.sop_id,
        r.sop_version,
        r.sop_content_hash,
        r.until,
        r.events_total,
        r.personal_data
    );
    if r.verified {
        t.push_str("verified: chain, head and decisions ok\n");
    } else {
        for f in &r.findings {
            t.push_str(&format!("MISMATCH {f}\n"));
        }
    }
    for s in &r.steps {
        t.push_str(&format!(
            "\n[{}] {} (row {}, {}, visit {}) — {}\n  entered {} (event {})\n",
            s.kind,
            s.step,
            s.row,
            s.actor,
            s.visit,
            s.name,
            rfc(s.entered_at),
            s.entered_seq
        ));
        for d in &s.documents {
            t.push_str(&format!(
                "  document {} {}{} by {} ({})\n",
                d.doc,
                if d.received { "received" } else { "missing" },
                d.number
                    .as_deref()
                    .map(|n| format!(" no. {n}"))
                    .unwrap_or_default(),
                d.by.user,
                d.by.role
            ));
        }
        if !s.data.is_empty() {
            t.push_str(&format!(
                "  data {}\n",
                serde_json::Value::Object(s.data.clone())
            ));
        }
        if let Some(q) = &s.queue_number {
            t.push_str(&format!("  queue number {q}\n"));
        }
        if let (Some(at), Some(by)) = (s.completed_at, &s.completed_by) {
            t.push_str(&format!(
                "  completed {} by {} ({}){}\n",
                rfc(at),
                by.user,
                by.role,
                s.outcome
                    .as_deref()
                    .map(|o| format!(", outcome {o}"))
                    .unwrap_or_default()
            ));
        }
        let budget = match (s.budget_seconds, &s.budget_step) {
            (Some(b), Some(owner)) if *owner == s.step => format!("budget {}", duration(b)),
            (Some(b), Some(owner)) => format!("budget {} (clock of {owner})", duration(b)),
            _ => "no budget".to_owned(),
        };
        let spent = s
            .spent_seconds
            .map(|x| format!("spent {x:.3}s"))
            .unwrap_or_else(|| "still open".to_owned());
        t.push_str(&format!("  {spent}; {budget}: {}\n", s.budget));
        if let Some(b) = &s.branch {
            t.push_str(&format!(
                "  branch {} -> {}{}\n",
                b.branch,
                b.to,
                b.label
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            ));
            for g in &b.guards {
                t.push_str(&format!(
                    "    guard [{}] {} = {} with {}\n",
                    g.branch,
                    g.guard,
                    g.result,
                    serde_json::Value::Object(g.values.clone())
                ));
            }
        }
    }
    let s = &r.state;
    t.push_str(&format!(
        "\nstate as of event {}: {}{}\n  data {}\n",
        s.version,
        s.status,
        s.current_step
            .as_deref()
            .map(|c| format!(" at {c}"))
            .unwrap_or_default(),
        serde_json::Value::Object(s.data.clone())
    ));
    t
}

async fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let request = ExportRequest {
        from: OffsetDateTime::parse(&args.from, &Rfc3339).context("--from must be RFC 3339")?,
        to: OffsetDateTime::parse(&args.to, &Rfc3339).context("--to must be RFC 3339")?,
        format: match args.format {
            CliExportFormat::Jsonl => ExportFormat::Jsonl,
            CliExportFormat::Csv => ExportFormat::Csv,
        },
        personal: Personal::requested(args.reveal, args.reason.as_deref())?,
        service_points: None,
    };
    let store = connect(&args.database).await?;
    let scope = request.scope();
    let shown = request.personal.clone();
    let mut exporter = Exporter::new(store.clone(), request)?;
    record_access(
        &store,
        &cli_requester(),
        "export",
        &scope,
        &shown,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let mut sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    while let Some(chunk) = exporter.next_chunk().await? {
        match sink.write_all(chunk.as_bytes()) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
            other => other.context("cannot write the export")?,
        }
    }
    match sink.flush() {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(e).context("cannot write the export");
        }
        _ => {}
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn print_report(
    database: &str,
    sop: Option<String>,
    version: Option<u32>,
    at: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let store = connect(database).await?;
    let reports = report(&store, sop.as_deref(), version, at.as_deref()).await;
    store.close().await;
    let reports = reports?;
    if json {
        out(&(serde_json::to_string_pretty(&reports)? + "\n"))?;
    } else {
        out(&reports
            .iter()
            .map(report_text)
            .collect::<Vec<_>>()
            .join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn report_text(r: &SopReport) -> String {
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let mut t = format!(
        "{} version {} (sha256 {}): {} cases ({} completed, {} cancelled, {} running); total budget exceeded: {}\n",
        r.sop_id,
        r.version,
        r.content_hash.get(..12).unwrap_or(&r.content_hash),
        r.cases,
        r.completed,
        r.cancelled,
        r.running,
        r.total_budget_breaches
    );
    for c in &r.consultations {
        t.push_str(&format!(
            "consultation {} ({}): {} cases ({})\n",
            c.name,
            c.step,
            c.rate.cases,
            pct(c.rate.rate)
        ));
    }
    for l in &r.loops {
        t.push_str(&format!(
            "loop {} → {} ({}): {} cases ({})\n",
            l.from,
            l.to,
            l.label,
            l.rate.cases,
            pct(l.rate.rate)
        ));
    }
    t.push_str(&format!(
        "{:<26} {:>3} {:>14} {:>6} {:>9} {:>9} {:>5} {:>8}\n",
        "step", "row", "budget", "visits", "p50", "p90", "over", "breaches"
    ));
    let secs = |x: Option<f64>| x.map(|v| format!("{v:.1}s")).unwrap_or_else(|| "-".into());
    for s in &r.steps {
        let budget = match (s.budget_seconds, &s.budget_step) {
            (Some(b), Some(owner)) if *owner == s.step => duration(b),
            (Some(b), Some(_)) => format!("{} shared", duration(b)),
            _ => "-".to_owned(),
        };
        t.push_str(&format!(
            "{:<26} {:>3} {:>14} {:>6} {:>9} {:>9} {:>5} {:>8}\n",
            s.step,
            s.row,
            budget,
            s.visits,
            secs(s.p50_seconds),
            secs(s.p90_seconds),
            s.over_budget,
            s.breaches
        ));
    }
    t
}
