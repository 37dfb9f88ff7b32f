//! Backups under load: clients drive cases through a real `sopflow serve` (which signs
//! checkpoints every second and exports them to a witness folder) while the store is copied.
//! SQLite: `sopflow backup`, then `sopflow restore` verifies the copy in full before putting
//! it in place; a tampered backup is not restored. PostgreSQL: `pg_dump` and `pg_restore`, as
//! the README says, then `sopflow audit verify`. Either way every command acknowledged
//! before the backup began is in it.

#![allow(clippy::unwrap_used)]

mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use process::{BIN, Server, add_user, ktp_el_yaml, wait_for};
use serde_json::json;
use sopflow_store::Store;
use sopflow_store::testing::{Backend, TestDb};

/// (case, version) a client was told.
type Acks = Arc<Mutex<Vec<(String, u64)>>>;

fn client(server: &Server, token: &str, id: usize, acks: &Acks, stop: &AtomicBool) {
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let start = json!({ "sop_id": "ktp-el",
            "data": { "nik": format!("13129901{id:02}{n:06}"), "nama_lengkap": "Pemohon Uji", "alasan": "baru" },
            "documents": [{ "type": "fotokopi_kk" }] });
        let r = server.post("/cases", token, &start);
        assert_eq!(r.status, 201, "{}", r.text);
        let case = r.body["case_id"].as_str().unwrap().to_owned();
        acks.lock()
            .unwrap()
            .push((case.clone(), r.body["version"].as_u64().unwrap()));
        for step in ["serahkan_berkas", "verifikasi_berkas"] {
            let r = server.post(
                &format!("/cases/{case}/steps/{step}/complete"),
                token,
                &json!({}),
            );
            assert_eq!(r.status, 200, "{step}: {}", r.text);
            acks.lock()
                .unwrap()
                .push((case.clone(), r.body["version"].as_u64().unwrap()));
        }
    }
}

fn run(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(BIN).args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    (out.status.success(), text)
}

/// A real `sopflow serve` signing a checkpoint every second into a witness folder, with three
/// clients driving cases through it.
struct Load {
    work: tempfile::TempDir,
    public: PathBuf,
    witness: PathBuf,
    server: Option<Arc<Server>>,
    acks: Acks,
    stop: Arc<AtomicBool>,
    clients: Vec<std::thread::JoinHandle<()>>,
}

impl Load {
    fn start(url: &str) -> Load {
        let work = tempfile::tempdir().unwrap();
        let definitions = work.path().join("definitions");
        std::fs::create_dir(&definitions).unwrap();
        std::fs::write(definitions.join("ktp-el.yaml"), ktp_el_yaml()).unwrap();
        let key = work.path().join("log.key");
        let (ok, text) = run(&[
            "audit",
            "keygen",
            "--origin",
            "disdukcapil.example/sopflow",
            "--key",
            key.to_str().unwrap(),
        ]);
        assert!(ok, "{text}");
        let public = work.path().join("log.pub");
        let witness = work.path().join("witness");
        std::fs::create_dir(&witness).unwrap();
        let config = work.path().join("sopflow.toml");
        std::fs::write(
            &config,
            format!(
                "[log]\nkey = {:?}\ncheckpoint_every = \"1s\"\nexport_dir = {:?}\n",
                key.display().to_string(),
                witness.display().to_string()
            ),
        )
        .unwrap();
        let token = add_user(url, "siti", "petugas_antrian");
        let server = Arc::new(Server::start_with_args(
            "backup",
            work.path(),
            url,
            &definitions,
            &["--config", config.to_str().unwrap()],
        ));
        let acks: Acks = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let clients = (0..3)
            .map(|id| {
                let (server, token, acks, stop) =
                    (server.clone(), token.clone(), acks.clone(), stop.clone());
                std::thread::spawn(move || client(&server, &token, id, &acks, &stop))
            })
            .collect();
        let load = Load {
            work,
            public,
            witness,
            server: Some(server),
            acks,
            stop,
            clients,
        };
        // Under load, and after the service signed checkpoints of it.
        wait_for(Duration::from_secs(30), "load and two checkpoints", || {
            (load.acks.lock().unwrap().len() > 60 && load.signed() >= 2).then_some(())
        });
        load
    }

    fn signed(&self) -> usize {
        std::fs::read_dir(&self.witness).map_or(0, |d| d.count())
    }

    fn acked(&self) -> Vec<(String, u64)> {
        self.acks.lock().unwrap().clone()
    }

    /// The witness's checkpoints as of now, copied aside.
    fn witness_now(&self, name: &str) -> PathBuf {
        let copy = self.work.path().join(name);
        std::fs::create_dir(&copy).unwrap();
        for entry in std::fs::read_dir(&self.witness).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
        }
        copy
    }

    /// Lets the load go on until the service signed once more, then stops clients and server.
    fn finish_after_backup(&mut self, acked_before: usize) {
        let signed = self.signed();
        wait_for(
            Duration::from_secs(30),
            "a checkpoint after the backup",
            || (self.signed() > signed).then_some(()),
        );
        self.stop.store(true, Ordering::Relaxed);
        for c in self.clients.drain(..) {
            c.join().unwrap();
        }
        assert!(
            self.acks.lock().unwrap().len() > acked_before,
            "the load went on"
        );
        let server = self.server.take().unwrap();
        drop(Arc::try_unwrap(server).ok().map(Server::stop));
    }
}

/// Every command acknowledged before the backup began is in the restored store.
fn assert_all_there(rt: &tokio::runtime::Runtime, url: &str, acked_before: &[(String, u64)]) {
    rt.block_on(async {
        let store = Store::connect(url).await.unwrap();
        for (case, version) in acked_before {
            let record = store.case(case).await.unwrap();
            let record = record.unwrap_or_else(|| panic!("case {case} is not in the backup"));
            assert!(
                record.version >= *version,
                "case {case}: acknowledged at {version}, the backup has {}",
                record.version
            );
        }
        assert!(store.latest_checkpoint().await.unwrap().is_some());
        store.close().await;
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_backup_taken_under_load_restores_verified_with_every_acknowledged_command() {
    let live = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", live.path().join("live.db").display());
    let mut load = Load::start(&url);
    let (work, public, witness) = (
        load.work.path().to_owned(),
        load.public.clone(),
        load.witness.clone(),
    );
    let acked_before = load.acked();
    let backup = work.join("backup.db");
    let (ok, text) = run(&["backup", "--database", &url, "-o", backup.to_str().unwrap()]);
    assert!(ok, "{text}");
    // The load goes on after the copy, and the service signs it.
    load.finish_after_backup(acked_before.len());

    // Restored: verified in full (chains, decisions, projections, log, checkpoints).
    let restored = work.join("restored.db");
    let restored_url = format!("sqlite://{}", restored.display());
    let (ok, text) = run(&[
        "restore",
        backup.to_str().unwrap(),
        "--database",
        &restored_url,
        "--public-key",
        public.to_str().unwrap(),
        "--checkpoint",
        witness.to_str().unwrap(),
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("restored to"), "{text}");
    assert!(!text.contains("no public key"), "{text}");
    // The checkpoints kept outside that the backup predates match it; the later ones are
    // named as what the restore loses, not taken for a tamper.
    assert!(text.contains("signed later"), "{text}");
    assert!(!text.contains("MISMATCH"), "{text}");
    // Never over an existing database.
    let (ok, text) = run(&[
        "restore",
        backup.to_str().unwrap(),
        "--database",
        &restored_url,
    ]);
    assert!(!ok && text.contains("exists"), "{text}");
    let rt = runtime();
    assert_all_there(&rt, &restored_url, &acked_before);

    // A backup tampered with is not restored.
    let tampered = work.join("tampered.db");
    std::fs::copy(&backup, &tampered).unwrap();
    rt.block_on(async {
        let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", tampered.display()))
            .await
            .unwrap();
        for statement in [
            "DROP TRIGGER events_no_update",
            "UPDATE events SET user_name = 'mallory' WHERE seq = 2",
        ] {
            sqlx::query(statement).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    let refused = work.join("refused.db");
    let (ok, text) = run(&[
        "restore",
        tampered.to_str().unwrap(),
        "--database",
        &format!("sqlite://{}", refused.display()),
        "--public-key",
        public.to_str().unwrap(),
    ]);
    assert!(!ok, "{text}");
    assert!(text.contains("NOT RESTORED"), "{text}");
    assert!(text.contains("stored as done by mallory"), "{text}");
    assert!(!refused.exists(), "nothing is left at the target");
}

/// PostgreSQL, as the README says: `pg_dump` while the service runs, `pg_restore`, then
/// `sopflow audit verify` with the public key and the witness's checkpoints of that time. The
/// test's database is a schema; the live one is renamed aside and the dump restored in its
/// place.
#[test]
fn a_pg_dump_taken_under_load_restores_and_verifies_with_every_acknowledged_command() {
    let rt = runtime();
    let Some(db) = rt.block_on(TestDb::new(Backend::Postgres)) else {
        eprintln!("*** SKIPPED *** pg_dump backup test: no PostgreSQL (SOPFLOW_TEST_DATABASE_URL)");
        return;
    };
    let admin_url = std::env::var(sopflow_store::testing::PG_URL_VAR).unwrap();
    let schema = db
        .url
        .rsplit_once("search_path%3D")
        .map(|(_, s)| s.to_owned())
        .unwrap();
    let mut load = Load::start(&db.url);
    let (work, public) = (load.work.path().to_owned(), load.public.clone());
    let acked_before = load.acked();
    let witness_then = load.witness_now("witness-at-dump");
    let dump = work.join("sopflow.dump");
    let out = std::process::Command::new("pg_dump")
        .args([
            "-Fc",
            "-n",
            &schema,
            "-f",
            dump.to_str().unwrap(),
            &admin_url,
        ])
        .output()
        .expect("pg_dump (PostgreSQL's client tools) must be installed where PostgreSQL is");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    load.finish_after_backup(acked_before.len());

    let aside = format!("{schema}_live");
    let admin = |statement: String| {
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        })
    };
    admin(format!("ALTER SCHEMA {schema} RENAME TO {aside}"));
    let out = std::process::Command::new("pg_restore")
        .args(["--no-owner", "-d", &admin_url, dump.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let verify = |checkpoints: &std::path::Path| {
        run(&[
            "audit",
            "verify",
            "--database",
            &db.url,
            "--public-key",
            public.to_str().unwrap(),
            "--checkpoint",
            checkpoints.to_str().unwrap(),
        ])
    };
    let (ok, text) = verify(&witness_then);
    assert!(ok, "{text}");
    assert!(text.contains("checkpoints checked with"), "{text}");
    assert_all_there(&rt, &db.url, &acked_before);
    // Against the witness as it is now, the checkpoints signed after the dump name the leaves
    // the restore lost (the README says to move them aside).
    let (ok, text) = verify(&load.witness);
    assert!(!ok, "{text}");
    assert!(text.contains("leaves were removed"), "{text}");

    admin(format!("DROP SCHEMA {aside} CASCADE"));
    rt.block_on(db.cleanup());
}
