//! `sopflow render` as a user runs it: drawings to stdout or a file, and a broken SOP refused
//! with its problems and exit code 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sopflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .output()
        .expect("the sopflow binary runs")
}

fn ktp_el() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sop-definitions/ktp-el.yaml")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("sopflow-render-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

#[test]
fn renders_each_format_to_stdout() {
    let file = ktp_el();
    let file = file.to_str().unwrap();
    for (format, opening) in [
        (
            "mermaid",
            "%% SOP ktp-el: Penerbitan Kartu Tanda Penduduk Elektronik\nflowchart TD\n",
        ),
        ("dot", "digraph \"ktp-el\" {\n"),
        ("html", "<!DOCTYPE html>\n"),
        ("svg", "<svg xmlns=\"http://www.w3.org/2000/svg\""),
    ] {
        let output = sopflow(&["render", file, "--format", format]);
        assert!(output.status.success(), "{format}: {output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.starts_with(opening), "{format}: {stdout}");
        assert!(stdout.contains("serahkan_berkas"), "{format}");
        assert!(output.stderr.is_empty(), "{format}");
    }
}

#[test]
fn writes_to_the_output_file() {
    let dir = scratch_dir("output");
    let target = dir.join("ktp-el.html");
    let output = sopflow(&[
        "render",
        ktp_el().to_str().unwrap(),
        "--format",
        "html",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    assert!(output.stdout.is_empty());
    let html = std::fs::read_to_string(&target).unwrap();
    assert!(
        html.contains(
            "<th class=\"actor-name\" data-actor=\"adb\">ADB (Administrator Database)</th>"
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_an_invalid_sop_with_its_problems() {
    let dir = scratch_dir("invalid");
    let broken = dir.join("broken.yaml");
    let text = std::fs::read_to_string(ktp_el())
        .unwrap()
        .replace("next: verifikasi_berkas", "next: langkah_yang_tidak_ada");
    std::fs::write(&broken, text).unwrap();
    let output = sopflow(&["render", broken.to_str().unwrap(), "--format", "mermaid"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(output.stdout.is_empty(), "no half drawing on stdout");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("broken.yaml:"), "{stderr}");
    assert!(stderr.contains("langkah_yang_tidak_ada"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_an_unknown_format() {
    let output = sopflow(&["render", ktp_el().to_str().unwrap(), "--format", "png"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("mermaid")
            && stderr.contains("dot")
            && stderr.contains("html")
            && stderr.contains("svg"),
        "{stderr}"
    );
}
