//! Hot reload through the real watcher: a running `sopflow serve` picks up a changed SOP file
//! as a new version, refuses a broken one with its problems (the last good version stays),
//! and cases stay on the version they started on.

// A panic is a failed assertion here, in helpers as in the test.
#![allow(clippy::unwrap_used)]

mod process;

use std::time::Duration;

use process::{Server, add_user, ktp_el_yaml, wait_for};
use serde_json::json;

/// The watcher waits for a burst of writes to settle (300 ms) before it rescans.
const RELOAD: Duration = Duration::from_secs(15);

#[test]
fn the_watcher_deploys_a_changed_sop_and_reports_a_broken_one() {
    let work = tempfile::tempdir().unwrap();
    let definitions = work.path().join("definitions");
    std::fs::create_dir(&definitions).unwrap();
    let file = definitions.join("ktp-el.yaml");
    let v1 = ktp_el_yaml();
    std::fs::write(&file, &v1).unwrap();
    let database = format!("sqlite://{}", work.path().join("sopflow.db").display());
    let petugas = add_user(&database, "siti", "petugas_antrian");
    let admin = add_user(&database, "admin", "admin");
    let server = Server::start("serve", work.path(), &database, &definitions, &[]);

    let sop = server.get("/sops/ktp-el", &admin);
    assert_eq!(sop.body["latest_version"], 1, "{}", sop.text);
    let open = || {
        let r = server.post(
            "/cases",
            &petugas,
            &json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900001", "alasan": "baru" } }),
        );
        assert_eq!(r.status, 201, "{}", r.text);
        r.body["case_id"].as_str().unwrap().to_owned()
    };
    let before = open();

    // An administrator edits the file in place: the service deploys it as version 2.
    assert!(v1.contains("budget: 5m"));
    let v2 = v1.replace("budget: 5m", "budget: 10m");
    std::fs::write(&file, &v2).unwrap();
    wait_for(RELOAD, "the changed file to become version 2", || {
        let sop = server.get("/sops/ktp-el", &admin);
        assert_eq!(sop.status, 200, "{}", sop.text);
        // Stored first, then released: new cases start on it once it is in force.
        (sop.body["latest_version"] == 2 && sop.body["in_force_version"] == 2).then_some(())
    });
    let v2_detail = server.get("/sops/ktp-el/versions/2", &admin);
    assert_eq!(
        v2_detail.body["yaml"],
        v2.as_str(),
        "version 2 is the new text"
    );
    let after = open();

    // A broken save: refused with FILE:LINE:COLUMN, version 2 stays the latest.
    let broken = v2.replace("actor: operator_cetak\n", "actor: operator\n");
    assert_ne!(broken, v2);
    std::fs::write(&file, &broken).unwrap();
    let refused = wait_for(RELOAD, "the broken file to be refused", || {
        let list = server.get("/sops", &admin);
        assert_eq!(list.status, 200, "{}", list.text);
        let files = list.body["refused_files"].as_array().unwrap().clone();
        (!files.is_empty()).then_some((list, files))
    });
    let (list, files) = refused;
    assert_eq!(files.len(), 1, "{}", list.text);
    let file_name = file.display().to_string();
    assert_eq!(files[0]["file"], file_name.as_str());
    let problems = files[0]["problems"].as_array().unwrap();
    assert!(!problems.is_empty());
    let broken_lines: Vec<&str> = broken.lines().collect();
    for problem in problems {
        let problem = problem.as_str().unwrap();
        // FILE:LINE:COLUMN: field: message, pointing at the offending text of the file.
        let rest = problem
            .strip_prefix(&format!("{file_name}:"))
            .unwrap_or_else(|| panic!("{problem:?} does not start with the file"));
        let mut parts = rest.splitn(3, ':');
        let line: usize = parts.next().unwrap().parse().unwrap();
        let column: usize = parts.next().unwrap().parse().unwrap();
        let message = parts.next().unwrap();
        assert!(message.contains("unknown actor `operator`"), "{problem}");
        let text = broken_lines[line - 1];
        assert!(
            text[column - 1..].starts_with("operator"),
            "{problem} points at {text:?}"
        );
    }
    assert_eq!(list.body["sops"][0]["latest_version"], 2, "{}", list.text);
    assert_eq!(server.get("/sops/ktp-el", &admin).body["latest_version"], 2);

    // Cases stay on the version they started on; new ones take the latest good version.
    let version_of =
        |case: &str| server.get(&format!("/cases/{case}"), &admin).body["sop_version"].clone();
    assert_eq!(version_of(&before), 1, "started before the change");
    assert_eq!(version_of(&after), 2);
    assert_eq!(version_of(&open()), 2, "the broken file deployed nothing");
    let r = server.post(
        &format!("/cases/{before}/steps/serahkan_berkas/complete"),
        &petugas,
        &json!({}),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["sop_version"], 1, "it goes on on version 1");

    // Repairing the file clears the report; the same text is the same version.
    std::fs::write(&file, &v2).unwrap();
    wait_for(RELOAD, "the repaired file to clear the report", || {
        let list = server.get("/sops", &admin);
        list.body["refused_files"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
    assert_eq!(server.get("/sops/ktp-el", &admin).body["latest_version"], 2);

    // An idle folder is left alone: no rescan, no log line, however long it stays unchanged
    // (reading the files, as a rescan does, is no change).
    let syncs = || syncs_of(&server.get("/metrics", &admin).text);
    let quiet = syncs();
    let _ = std::fs::read_to_string(&file).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(syncs(), quiet, "the folder was rescanned without a change");
    let deploy_lines = |out: &str| out.matches("SOP deployed").count();
    let logged = deploy_lines(&server.output());
    assert!(
        logged >= 2,
        "the deployments are logged:\n{}",
        server.output()
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        deploy_lines(&server.output()),
        logged,
        "deploy lines keep coming"
    );

    // A second file declaring the same SOP id is refused, naming the first; the SOP keeps
    // its version.
    let twin = definitions.join("ktp-el-copy.yaml");
    std::fs::write(&twin, v2.replace("budget: 10m", "budget: 20m")).unwrap();
    let twin_name = twin.display().to_string();
    let refused = wait_for(RELOAD, "the file with a taken SOP id to be refused", || {
        let list = server.get("/sops", &admin);
        list.body["refused_files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == twin_name.as_str())
            .cloned()
    });
    let problem = refused["problems"][0].as_str().unwrap().to_owned();
    assert!(
        problem.starts_with(&format!("{twin_name}:")),
        "{problem} names the file"
    );
    assert!(
        problem.contains("SOP `ktp-el` is also declared in") && problem.contains(&file_name),
        "{problem}"
    );
    assert_eq!(server.get("/sops/ktp-el", &admin).body["latest_version"], 2);
    // Removing the copy clears its report.
    std::fs::remove_file(&twin).unwrap();
    wait_for(RELOAD, "the removed copy's report to go", || {
        let list = server.get("/sops", &admin);
        list.body["refused_files"]
            .as_array()
            .unwrap()
            .is_empty()
            .then_some(())
    });
    assert_eq!(server.get("/sops/ktp-el", &admin).body["latest_version"], 2);
    server.stop();
}

/// The `sopflow_definition_syncs_total` counter in a Prometheus text.
fn syncs_of(metrics: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("sopflow_definition_syncs_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}
