//! Hostile SOPs: files built to hang, exhaust memory or crash a loader. Each must be refused (or
//! bounded) with a clear, located message, quickly, and without a panic or a stack overflow.

use std::time::{Duration, Instant};

use sopflow_engine::sop;

const MINIMAL: &str = include_str!("valid/minimal.yaml");

/// Loads `text` on a thread with a small stack and a deadline: a hang or an overflow fails
/// the test instead of killing the run.
fn load_bounded(text: String) -> Result<sop::Sop, Vec<sop::Diagnostic>> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(move || {
            let _ = send.send(sop::load(&text));
        })
        .expect("thread");
    receive
        .recv_timeout(Duration::from_secs(20))
        .expect("load answered within 20 s (no hang, no crash)")
}

fn refused_with(text: String, needle: &str) -> String {
    let started = Instant::now();
    let problems = match load_bounded(text) {
        Ok(_) => panic!("a hostile SOP was accepted"),
        Err(problems) => problems,
    };
    let all: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let joined = all.join("\n");
    assert!(
        joined.contains(needle),
        "expected a problem mentioning {needle:?}, got:\n{joined}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused, but slowly: {:?}",
        started.elapsed()
    );
    joined
}

#[test]
fn a_ten_megabyte_file_is_refused_by_size_before_parsing() {
    let mut text = MINIMAL.to_owned();
    text.push_str("# ");
    text.push_str(&"x".repeat(10 * 1024 * 1024));
    refused_with(text, "limit for an SOP");
}

#[test]
fn an_alias_bomb_is_refused_not_expanded() {
    // "Billion laughs": nine levels of nine aliases would expand to 9^9 strings.
    let mut bomb = String::from("bomb0: &a0 [\"lol\"]\n");
    for level in 1..10 {
        let prev = level - 1;
        let refs = vec![format!("*a{prev}"); 9].join(", ");
        bomb.push_str(&format!("bomb{level}: &a{level} [{refs}]\n"));
    }
    let text = MINIMAL.replace("schema_version: 1\n", &format!("schema_version: 1\n{bomb}"));
    let message = refused_with(text, "alias");
    assert!(message.contains(':'), "located: {message}");
}

#[test]
fn deeply_nested_yaml_is_refused_without_overflowing_the_stack() {
    for (open, close) in [("[", "]"), ("{a: ", "}")] {
        let depth = 100_000;
        let nested = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        let text = MINIMAL.replace(
            "schema_version: 1\n",
            &format!("schema_version: 1\nx: {nested}\n"),
        );
        refused_with(text, "");
    }
    // Block style too: indentation that goes 200 levels deep.
    let mut block = String::from("x:\n");
    for level in 1..200 {
        block.push_str(&" ".repeat(level * 2));
        block.push_str(&format!("k{level}:\n"));
    }
    let text = MINIMAL.replace(
        "schema_version: 1\n",
        &format!("schema_version: 1\n{block}"),
    );
    refused_with(text, "deeper than");
}

#[test]
fn guards_that_would_loop_or_recurse_are_refused_at_deploy_time() {
    for (guard, needle) in [
        ("loop { }", "guard"),
        ("while true { }", "guard"),
        ("fn f(x) { f(x) } f(1)", "guard"),
        ("{ let x = 1; x }", "guard"),
        // Deep expression nesting: over the parser's depth limit.
        (
            &format!("{}true{}", "(".repeat(500), ")".repeat(500)),
            "guard",
        ),
        // Longer than a guard may be.
        (&format!("alasan == \"{}\"", "a".repeat(8 * 1024)), "limit"),
    ] {
        let text = MINIMAL.replace(
            "required_when: alasan == \"hilang\"",
            &format!("required_when: '{}'", guard.replace('\'', "''")),
        );
        refused_with(text, needle);
    }
}

#[test]
fn a_huge_string_value_is_bounded_by_the_file_limit() {
    // Just under the limit: loads or is refused, quickly, either way with no panic.
    let big = "a".repeat(sop::load::MAX_SOP_BYTES - MINIMAL.len() - 64);
    let text = MINIMAL.replace("name: Selesai", &format!("name: \"{big}\""));
    let started = Instant::now();
    let _ = load_bounded(text);
    assert!(started.elapsed() < Duration::from_secs(5));
    // Over it: refused by size.
    let bigger = "a".repeat(sop::load::MAX_SOP_BYTES);
    refused_with(
        MINIMAL.replace("name: Selesai", &format!("name: \"{bigger}\"")),
        "limit for an SOP",
    );
}

#[test]
fn thousands_of_steps_validate_in_bounded_time() {
    let mut text = MINIMAL.replace(
        "  - id: selesai\n    row: 4\n    kind: end\n    name: Selesai\n    actor: pemohon\n",
        "",
    );
    text = text.replace("to: selesai", "to: s0");
    let count = 3_000;
    for i in 0..count {
        let next = if i + 1 == count {
            "selesai".to_owned()
        } else {
            format!("s{}", i + 1)
        };
        text.push_str(&format!(
            "  - id: s{i}\n    row: 5\n    kind: task\n    name: Langkah {i}\n    actor: petugas\n    next: {next}\n"
        ));
    }
    text.push_str(
        "  - id: selesai\n    row: 6\n    kind: end\n    name: Selesai\n    actor: pemohon\n",
    );
    let started = Instant::now();
    let result = load_bounded(text);
    assert!(result.is_ok(), "{:?}", result.err());
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
