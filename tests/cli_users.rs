//! `sopflow user add` and `user grant` as an administrator runs them: the role is checked
//! against the built-in roles and those the SOPs know (deployed, or in the definitions folder
//! `serve` deploys), the service points against those configured or stored; anything else is
//! refused naming what is known. On a fresh SQLite file.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn sopflow(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .expect("the sopflow binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn roles_and_service_points_are_checked_when_a_user_is_made() {
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir(&definitions).unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/sop-definitions/ktp-el.yaml");
    std::fs::copy(shipped, definitions.join("ktp-el.yaml")).unwrap();
    let db = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let add = |extra: &[&str]| {
        let mut args = vec!["user", "add"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--database", &db]);
        sopflow(dir.path(), &args)
    };

    // A typo is refused, with the roles that exist (the folder's SOP is known before any
    // `serve` deployed it).
    let out = add(&["x", "--role", "petugas_antiran"]);
    assert!(!out.status.success());
    let said = text(&out);
    for known in [
        "petugas_antrian",
        "operator_cetak",
        "adb",
        "admin",
        "auditor",
        "display",
        "supervisor",
    ] {
        assert!(said.contains(known), "{known} is listed: {said}");
    }
    // A known role at the only service point there is.
    let out = add(&["siti", "--role", "petugas_antrian"]);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);
    assert!(
        text(&out).contains("default service point"),
        "{}",
        text(&out)
    );

    // Two offices in the configuration: an officer's must be named, and must exist.
    let config = dir.path().join("sopflow.toml");
    std::fs::write(
        &config,
        "[[service_points]]\nid = \"kantor_dinas\"\nname = \"Kantor\"\ncounters = [\"Loket 1\"]\n\n\
         [[service_points]]\nid = \"kec_sungai_aur\"\nname = \"Kecamatan\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let out = add(&["budi", "--role", "operator_cetak", "--config", config]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("--at one of kantor_dinas, kec_sungai_aur"),
        "{}",
        text(&out)
    );
    let out = add(&[
        "budi",
        "--role",
        "operator_cetak",
        "--at",
        "mpp",
        "--config",
        config,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown service point \"mpp\""),
        "{}",
        text(&out)
    );
    let out = add(&[
        "budi",
        "--role",
        "operator_cetak",
        "--at",
        "kec_sungai_aur",
        "--config",
        config,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = add(&["ina", "--role", "auditor", "--config", config]);
    assert!(
        out.status.success(),
        "auditors everywhere by default: {}",
        text(&out)
    );
    let grant = sopflow(
        dir.path(),
        &[
            "user",
            "grant",
            "budi",
            "--role",
            "petugas_antrian",
            "--at",
            "kantor_dinas",
            "--config",
            config,
            "--database",
            &db,
        ],
    );
    assert!(grant.status.success(), "{}", text(&grant));
    let refused = sopflow(
        dir.path(),
        &[
            "user",
            "grant",
            "budi",
            "--role",
            "kepala",
            "--at",
            "kantor_dinas",
            "--database",
            &db,
        ],
    );
    assert!(!refused.status.success());

    let list = sopflow(dir.path(), &["user", "list", "--database", &db]);
    let listed = text(&list);
    assert!(
        listed.contains("siti\tpetugas_antrian (default)"),
        "{listed}"
    );
    assert!(
        listed.contains("budi\toperator_cetak@kec_sungai_aur,petugas_antrian@kantor_dinas"),
        "{listed}"
    );
    assert!(listed.contains("ina\tauditor@*"), "{listed}");
    assert!(!listed.contains(&token), "tokens are never listed");
}
