//! Backups of the SQLite store under load: clients drive cases through a real `sopflow
//! serve` (which signs checkpoints every second and exports them) while `sopflow backup`
//! copies the store; `sopflow restore` verifies the copy in full before putting it in place,
//! and every command acknowledged before the backup began is in it. A tampered backup is not
//! restored. (PostgreSQL is backed up with its own tools: see the README.)

#![allow(clippy::unwrap_used)]

mod process;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use process::{BIN, Server, add_user, ktp_el_yaml, wait_for};
use serde_json::json;
use sopflow_store::Store;

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

#[test]
fn a_backup_taken_under_load_restores_verified_with_every_acknowledged_command() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("live.db");
    let url = format!("sqlite://{}", db.display());
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
    let token = add_user(&url, "siti", "petugas_antrian");
    let server = Arc::new(Server::start_with_args(
        "backup",
        work.path(),
        &url,
        &definitions,
        &["--config", config.to_str().unwrap()],
    ));
    let acks: Acks = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|id| {
            let (server, token, acks, stop) =
                (server.clone(), token.clone(), acks.clone(), stop.clone());
            std::thread::spawn(move || client(&server, &token, id, &acks, &stop))
        })
        .collect();
    // Under load, and after the service signed checkpoints of it.
    wait_for(Duration::from_secs(30), "load and two checkpoints", || {
        let signed = std::fs::read_dir(&witness).ok()?.count();
        (acks.lock().unwrap().len() > 60 && signed >= 2).then_some(())
    });
    let acked_before: Vec<(String, u64)> = acks.lock().unwrap().clone();
    let backup = work.path().join("backup.db");
    let (ok, text) = run(&["backup", "--database", &url, "-o", backup.to_str().unwrap()]);
    assert!(ok, "{text}");
    // The load goes on after the copy, and the service signs it.
    let signed_at_backup = std::fs::read_dir(&witness).unwrap().count();
    wait_for(
        Duration::from_secs(30),
        "a checkpoint after the backup",
        || (std::fs::read_dir(&witness).ok()?.count() > signed_at_backup).then_some(()),
    );
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    assert!(
        acks.lock().unwrap().len() > acked_before.len(),
        "the load went on"
    );
    drop(Arc::try_unwrap(server).ok().map(Server::stop));

    // Restored: verified in full (chains, decisions, projections, log, checkpoints).
    let restored = work.path().join("restored.db");
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

    // Every command acknowledged before the backup began is in it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::connect(&restored_url).await.unwrap();
        for (case, version) in &acked_before {
            let record = store.case(case).await.unwrap();
            let record = record.unwrap_or_else(|| panic!("case {case} is not in the backup"));
            assert!(
                record.version >= *version as i64,
                "case {case}: acknowledged at {version}, the backup has {}",
                record.version
            );
        }
        assert!(store.latest_checkpoint().await.unwrap().is_some());
        store.close().await;
    });

    // A backup tampered with is not restored.
    let tampered = work.path().join("tampered.db");
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
    let refused = work.path().join("refused.db");
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
