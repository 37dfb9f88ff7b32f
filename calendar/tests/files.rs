//! Calendar files: what loads, and the exact problems (`FILE:LINE:COLUMN: field: message`)
//! of what does not.

use sopflow_calendar::{CANONICAL_HEADER, Calendar, Library};

/// Loads `id` from `files` and returns its problems, one per line.
fn problems(files: &[(&str, &str)], id: &str) -> String {
    let mut library = Library::new();
    for (name, text) in files {
        library.insert(*name, format!("{name}.toml"), *text);
    }
    match library.load(id) {
        Ok(_) => panic!("{id} loaded without a problem"),
        Err(e) => e.to_string(),
    }
}

fn one(text: &str) -> String {
    problems(&[("kantor", text)], "kantor")
}

#[track_caller]
fn same(actual: String, expected: &str) {
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(actual, expected.join("\n"), "\nactual:\n{actual}\n");
}

const WEEK: &str = "[hours]\nmonday-friday = \"08:00-16:00\"\n";

#[test]
fn a_toml_syntax_error() {
    same(
        one("zone = \"WIB\"\n[hours\n"),
        "kantor.toml:2:7: TOML syntax error: unclosed table, expected `]`",
    );
}

#[test]
fn unknown_fields_and_bad_values_at_the_top() {
    same(
        one(&format!("zona = \"WIB\"\nname = 7\n{WEEK}")),
        r#"
        kantor.toml:1:1: zona: unknown field `zona`: did you mean `zone`?
        kantor.toml:2:8: name: expected text in quotes, found a number
        "#,
    );
    same(
        one(&format!("zone = \"UTC+7\"\n{WEEK}")),
        r#"kantor.toml:1:8: zone: unknown time zone "UTC+7": Indonesia's are `WIB` (UTC+07:00), `WITA` (UTC+08:00) and `WIT` (UTC+09:00)"#,
    );
}

#[test]
fn a_calendar_needs_a_zone_and_hours() {
    same(
        one("name = \"Kantor\"\n"),
        r#"
        kantor.toml:1:1: no `zone`: say where the office is, e.g. `zone = "WIB"` (or include a calendar that says it)
        kantor.toml:1:1: no [hours]: give the opening hours of the week (or include a calendar that has them)
        "#,
    );
}

#[test]
fn bad_hours() {
    same(
        one(r#"zone = "WIB"
[hours]
senin = "08:00-16:00"
friday-monday = "08:00-16:00"
tuesday = ["08:00-12:00", "11:00-16:00"]
wednesday = "8-16"
monday-thursday = "08:00-16:00"
thursday = "09:00-15:00"
saturday = 8
"#),
        r#"
        kantor.toml:3:1: hours.senin: `senin`: weekdays are written in English, here `monday`
        kantor.toml:4:1: hours.friday-monday: `friday-monday` does not run forward: a range goes from an earlier to a later day of the week, Monday first
        kantor.toml:5:27: hours.tuesday[1]: 11:00-16:00 overlaps 08:00-12:00 (hours.tuesday[0])
        kantor.toml:6:13: hours.wednesday: "8" is not a time of day such as `08:00`
        kantor.toml:8:1: hours.thursday: Thursday is already given by `monday-thursday` (line 7)
        kantor.toml:9:12: hours.saturday: expected opening hours such as ["08:00-12:00", "13:00-16:00"], found a number
        "#,
    );
}

#[test]
fn a_toml_date_that_is_no_day() {
    same(
        one(&format!(
            "zone = \"WIB\"\n{WEEK}[[closed]]\ndate = 2026-02-30\nname = \"X\"\n"
        )),
        "kantor.toml:5:8: TOML syntax error: invalid date, expected day between 01 and 28",
    );
}

#[test]
fn bad_closures() {
    same(
        one(&format!(
            r#"zone = "WIB"
{WEEK}
[[closed]]
date = "2026-02-30"
name = "Salah tanggal"

[[closed]]
date = "20-03-2026"
name = "Tanggal terbalik"

[[closed]]
date = 2026-03-20
through = 2026-03-18
name = "Mundur"

[[closed]]
tanggal = 2026-04-01
name = "Tanpa date"

[[closed]]
date = 2026-05-01
kind = "libur"

[[closed]]
date = 2026-06-01T08:00:00
name = "Dengan jam"

[[closed]]
date = 2026-01-01
through = 2027-06-01
name = "Terlalu panjang"

[[closed]]
date = 2026-07-01
name = ""
"#
        )),
        r#"
        kantor.toml:6:8: closed[0].date: 2026-02-30 is not a day of the calendar
        kantor.toml:10:8: closed[1].date: "20-03-2026" is not a date: write it as 2026-03-20
        kantor.toml:15:11: closed[2].through: 2026-03-18 is before `date` 2026-03-20: `through` is the last day of the range
        kantor.toml:18:1: closed[3].date: missing required field `date`
        kantor.toml:19:1: closed[3].tanggal: unknown field `tanggal` (known: date, through, name, kind)
        kantor.toml:22:1: closed[4].name: missing required field `name` (e.g. the holiday's name)
        kantor.toml:24:8: closed[4].kind: "libur" is not one of `libur_nasional`, `cuti_bersama`, `lokal`
        kantor.toml:27:8: closed[5].date: 2026-06-01T08:00:00 has a time of day: a date is written as 2026-03-20
        kantor.toml:32:11: closed[6].through: 2026-01-01 to 2027-06-01 is longer than a year: is it a typo?
        kantor.toml:37:8: closed[7].name: a name cannot be empty
        "#,
    );
}

#[test]
fn a_date_is_listed_once_per_file() {
    same(
        one(&format!(
            r#"zone = "WIB"
{WEEK}
[[closed]]
date = 2026-03-18
through = 2026-03-20
name = "Libur"

[[closed]]
date = 2026-03-20
name = "Lagi"

[[open]]
date = 2026-03-19
name = "Buka"
"#
        )),
        r#"
        kantor.toml:11:8: closed[1].date: 2026-03-20 is already closed by `closed[0].date` at kantor.toml:6
        kantor.toml:15:8: open[0].date: 2026-03-19 is already closed by `closed[0].date` at kantor.toml:6
        "#,
    );
}

#[test]
fn bad_open_days() {
    same(
        one(&format!(
            r#"zone = "WIB"
{WEEK}
[[open]]
date = 2026-08-08
name = "Sabtu tanpa jam"

[[open]]
date = 2026-08-15
name = "Tanpa jam"
hours = []

[[open]]
date = 2026-08-22
name = "Sabtu"
hours = "08:00-12:00"
"#
        )),
        r#"
        kantor.toml:12:9: open[1].hours: an open day needs hours: to close a day, list it under [[closed]]
        "#,
    );
    same(
        one(&format!(
            "zone = \"WIB\"\n{WEEK}\n[[open]]\ndate = 2026-08-08\nname = \"Sabtu tanpa jam\"\n"
        )),
        "kantor.toml:6:8: open[0].date: 2026-08-08 is a Saturday, which has no hours in [hours]: give this day its `hours`",
    );
}

#[test]
fn includes() {
    let nasional = "[[closed]]\ndate = 2026-03-20\nkind = \"cuti_bersama\"\nname = \"Cuti Bersama Idul Fitri\"\n";
    let mpp = "zone = \"WITA\"\n[[open]]\ndate = 2026-03-20\nname = \"MPP buka\"\nhours = \"08:00-12:00\"\n";
    same(
        problems(
            &[
                ("nasional", nasional),
                ("mpp", mpp),
                (
                    "kantor",
                    &format!(
                        "zone = \"WIB\"\ninclude = [\"nasional\", \"mpp\", \"provinsi\"]\n{WEEK}"
                    ),
                ),
            ],
            "kantor",
        ),
        r#"
        kantor.toml:2:24: include[1]: 2026-03-20 is open in `mpp` (MPP buka, `open[0].date` at mpp.toml:3) but closed in a calendar included before it (Cuti Bersama Idul Fitri, `closed[0].date` at nasional.toml:2): list the date in this file to say which holds
        kantor.toml:2:31: include[2]: unknown calendar `provinsi` (known: kantor, mpp, nasional)
        "#,
    );
    // The including file decides: its own entry wins over both.
    let mut library = Library::new();
    library.insert("nasional", "nasional.toml", nasional);
    library.insert("mpp", "mpp.toml", mpp);
    library.insert(
        "kantor",
        "kantor.toml",
        format!("zone = \"WIB\"\ninclude = [\"nasional\", \"mpp\"]\n{WEEK}[[open]]\ndate = 2026-03-20\nname = \"Buka\"\n"),
    );
    let kantor = library.load("kantor").unwrap_or_else(|e| panic!("{e}"));
    assert!(kantor.is_working_day(time::macros::date!(2026 - 03 - 20)));
    // Two included calendars in different zones, and a file that includes itself in a loop.
    same(
        problems(
            &[
                ("mpp", mpp),
                ("jawa", "zone = \"WIB\"\n"),
                ("kantor", &format!("include = [\"jawa\", \"mpp\"]\n{WEEK}")),
            ],
            "kantor",
        ),
        "kantor.toml:1:20: include[1]: `mpp` is in WITA, but the calendar included at `include[0]` at kantor.toml:1 is in WIB: set `zone` in this file",
    );
    same(
        problems(
            &[("a", "include = \"b\"\n"), ("b", "include = [\"a\"]\n")],
            "a",
        ),
        "b.toml:1:12: include[0]: include cycle: a → b → a",
    );
    same(
        problems(&[("kantor", "zone = \"WIB\"\n")], "lain"),
        "lain.toml:1:1: unknown calendar `lain` (known: kantor)",
    );
}

#[test]
fn an_included_files_problems_name_that_file() {
    same(
        problems(
            &[
                ("nasional", "[[closed]]\ndate = 2026-13-01\nname = \"X\"\n"),
                (
                    "kantor",
                    &format!("zone = \"WIB\"\ninclude = [\"nasional\"]\n{WEEK}"),
                ),
            ],
            "kantor",
        ),
        "nasional.toml:2:8: TOML syntax error: invalid date, expected month between 01 and 12",
    );
}

/// The canonical form is fixed text: a change to its rules must be deliberate, since it
/// changes the hash every pinned case refers to.
#[test]
fn the_canonical_form_is_pinned() {
    let text = r#"
include = []
zone = "wib"
name = "Kantor \"Contoh\""
[hours]
friday = ["13:30-16:30", "08.00-11.30"]
monday-thursday = ["08:00-12:00", "12:00-16:00"]
[[open]]
date = "2026-08-08"
name = "Sabtu"
hours = "08:00-12:00"
[[closed]]
date = 2026-03-20
through = 2026-03-21
kind = "cuti_bersama"
name = "Cuti"
"#;
    let calendar = Calendar::parse("kantor.toml", text).unwrap_or_else(|e| panic!("{e}"));
    let canonical = format!(
        r#"{CANONICAL_HEADER}
name = "Kantor \"Contoh\""
zone = "WIB"

[hours]
monday = ["08:00-16:00"]
tuesday = ["08:00-16:00"]
wednesday = ["08:00-16:00"]
thursday = ["08:00-16:00"]
friday = ["08:00-11:30", "13:30-16:30"]
saturday = []
sunday = []

[[closed]]
date = 2026-03-20
kind = "cuti_bersama"
name = "Cuti"

[[closed]]
date = 2026-03-21
kind = "cuti_bersama"
name = "Cuti"

[[open]]
date = 2026-08-08
name = "Sabtu"
hours = ["08:00-12:00"]
"#
    );
    assert_eq!(calendar.canonical(), canonical);
    assert_eq!(
        calendar.content_hash(),
        "e8c25625d8ddaec528a1e5ec4fbff36693c7d6ecdc0142e9c26b6ae7c8f61e27"
    );
}

proptest::proptest! {
    /// Any text, or an example file with a stretch cut out or replaced, loads or gives
    /// problems; it never panics, and every problem points into the file.
    #[test]
    fn loading_never_panics(
        cut in 0usize..2_000,
        length in 0usize..40,
        insert in "[ -~\n\u{e9}]{0,12}",
    ) {
        let example = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../calendars/contoh-kantor.toml"),
        )
        .unwrap_or_default();
        let chars: Vec<char> = example.chars().collect();
        let cut = cut.min(chars.len());
        let end = (cut + length).min(chars.len());
        let text: String = chars[..cut]
            .iter()
            .chain(insert.chars().collect::<Vec<_>>().iter())
            .chain(chars[end..].iter())
            .collect();
        let mut library = Library::new();
        library.insert(
            "nasional-2026",
            "nasional-2026.toml",
            std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../calendars/nasional-2026.toml"),
            )
            .unwrap_or_default(),
        );
        library.insert("x", "x.toml", text.clone());
        if let Err(e) = library.load("x") {
            let lines = text.split('\n').count();
            for p in e.problems.iter().filter(|p| p.file == "x.toml") {
                proptest::prop_assert!(p.line >= 1 && p.line <= lines, "{p}");
            }
        }
    }
}

#[test]
fn a_library_says_which_file_and_what_a_calendar_includes() {
    let mut library = Library::new();
    library.insert("nasional", "cal/nasional.toml", "name = \"N\"\n");
    library.insert("daerah", "cal/daerah.toml", "include = [\"nasional\"]\n");
    library.insert(
        "kantor",
        "cal/kantor.toml",
        "zone = \"WIB\"\ninclude = [\"daerah\", \"nasional\"]\n[hours]\nmonday = [\"08:00-16:00\"]\n",
    );
    library.insert("rusak", "cal/rusak.toml", "include = 7\n");
    assert_eq!(library.file("kantor"), Some("cal/kantor.toml"));
    assert_eq!(library.file("tidak-ada"), None);
    // Depth first, each once: daerah, then what it includes, then nasional is already there.
    assert_eq!(library.includes("kantor"), ["daerah", "nasional"]);
    assert_eq!(library.includes("daerah"), ["nasional"]);
    assert!(library.includes("nasional").is_empty());
    assert!(library.includes("rusak").is_empty());
    assert!(library.includes("tidak-ada").is_empty());
}
