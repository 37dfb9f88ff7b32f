//! Survei Kepuasan Masyarakat (SKM, Permenpan-RB 14/2017): the nine elements, one answer
//! per element (1 to 4), and the Indeks Kepuasan Masyarakat (IKM) with its grade. Pure: no
//! I/O; the answers come in, the figures go out.
//!
//! # The computation
//! Each element's average (nilai rata-rata, NRR) is the sum of its answers over the number of
//! respondents. The regulation weighs the nine averages equally: IKM = Σ NRRᵢ × (1/9), then
//! converted to 25–100 by × 25. Some offices write the weight rounded as 0.111, which gives
//! 0.999 of the exact value (up to 0.1 point lower, enough to change a grade right at a
//! boundary). Both are offered ([`Weighting`]); [`Weighting::Exact`] is the default.
//!
//! Every respondent answers all nine elements (the form requires it), so Σ NRRᵢ is the sum of
//! all answers over the respondents, and the index is a ratio of integers. It is computed in
//! integer arithmetic and rounded once, half up, to hundredths (the regulation's tables write
//! two decimals); the grade is read off that rounded value, so the gaps between the
//! regulation's intervals (64.99/65.00, 76.60/76.61, 88.30/88.31) hold no value.
//! Element averages are shown as they are (no intermediate rounding enters the index).

/// One element of the survey: its stable id and its wording in the regulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    pub id: &'static str,
    /// As Permenpan-RB 14/2017 names it.
    pub name_id: &'static str,
    pub name_en: &'static str,
}

/// The nine elements, in the regulation's order (U1–U9).
pub const ELEMENTS: [Element; 9] = [
    Element {
        id: "persyaratan",
        name_id: "Persyaratan",
        name_en: "Requirements",
    },
    Element {
        id: "prosedur",
        name_id: "Sistem, mekanisme dan prosedur",
        name_en: "System, mechanism and procedure",
    },
    Element {
        id: "waktu",
        name_id: "Waktu penyelesaian",
        name_en: "Completion time",
    },
    Element {
        id: "biaya",
        name_id: "Biaya/tarif",
        name_en: "Cost/fee",
    },
    Element {
        id: "produk",
        name_id: "Produk spesifikasi jenis pelayanan",
        name_en: "Product of the service",
    },
    Element {
        id: "kompetensi",
        name_id: "Kompetensi pelaksana",
        name_en: "Competence of the staff",
    },
    Element {
        id: "perilaku",
        name_id: "Perilaku pelaksana",
        name_en: "Conduct of the staff",
    },
    Element {
        id: "sarana",
        name_id: "Sarana dan prasarana",
        name_en: "Facilities",
    },
    Element {
        id: "pengaduan",
        name_id: "Penanganan pengaduan, saran dan masukan",
        name_en: "Handling of complaints, suggestions and input",
    },
];

/// Longest comment kept with an answer, in characters.
pub const MAX_COMMENT: usize = 500;

/// One respondent's answers: a score 1–4 per element, in [`ELEMENTS`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scores(pub [u8; 9]);

/// Why a survey answer was refused (before anything is stored).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("element `{0}` needs an answer from 1 to 4")]
    Score(&'static str),
    #[error("the comment is longer than {MAX_COMMENT} characters")]
    CommentTooLong,
    #[error("the comment holds control characters")]
    CommentControl,
}

impl Scores {
    /// Scores from the typed answers (in [`ELEMENTS`] order), each `1`..=`4`.
    pub fn parse(typed: [Option<&str>; 9]) -> Result<Scores, AnswerError> {
        let mut out = [0u8; 9];
        for (i, t) in typed.iter().enumerate() {
            out[i] = match t.map(str::trim) {
                Some("1") => 1,
                Some("2") => 2,
                Some("3") => 3,
                Some("4") => 4,
                _ => return Err(AnswerError::Score(ELEMENTS[i].id)),
            };
        }
        Ok(Scores(out))
    }

    /// The same check for scores already typed as numbers.
    pub fn new(scores: [u8; 9]) -> Result<Scores, AnswerError> {
        for (i, s) in scores.iter().enumerate() {
            if !(1..=4).contains(s) {
                return Err(AnswerError::Score(ELEMENTS[i].id));
            }
        }
        Ok(Scores(scores))
    }
}

/// An optional comment: trimmed, empty as none, at most [`MAX_COMMENT`] characters, no
/// control characters but line breaks and tabs (it is shown to supervisors and exported).
pub fn comment(typed: Option<&str>) -> Result<Option<String>, AnswerError> {
    let Some(text) = typed.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > MAX_COMMENT {
        return Err(AnswerError::CommentTooLong);
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(AnswerError::CommentControl);
    }
    Ok(Some(text.to_owned()))
}

/// The weight given to each element's average.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Weighting {
    /// 1/9, as the regulation defines it.
    #[default]
    Exact,
    /// 0.111, as some offices write it (0.999 of the exact index).
    Rounded,
}

impl Weighting {
    pub fn id(self) -> &'static str {
        match self {
            Weighting::Exact => "1/9",
            Weighting::Rounded => "0.111",
        }
    }

    pub fn parse(text: &str) -> Option<Weighting> {
        match text {
            "1/9" | "exact" => Some(Weighting::Exact),
            "0.111" | "rounded" => Some(Weighting::Rounded),
            _ => None,
        }
    }
}

/// The grade (mutu pelayanan) of an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    A,
    B,
    C,
    D,
}

impl Grade {
    /// The grade of an index in hundredths (A from 88.31, B from 76.61, C from 65.00).
    pub fn of_hundredths(hundredths: u32) -> Grade {
        match hundredths {
            8831.. => Grade::A,
            7661.. => Grade::B,
            6500.. => Grade::C,
            _ => Grade::D,
        }
    }

    pub fn letter(self) -> &'static str {
        match self {
            Grade::A => "A",
            Grade::B => "B",
            Grade::C => "C",
            Grade::D => "D",
        }
    }

    /// The regulation's words (kinerja unit pelayanan).
    pub fn words_id(self) -> &'static str {
        match self {
            Grade::A => "Sangat baik",
            Grade::B => "Baik",
            Grade::C => "Kurang baik",
            Grade::D => "Tidak baik",
        }
    }

    pub fn words_en(self) -> &'static str {
        match self {
            Grade::A => "Very good",
            Grade::B => "Good",
            Grade::C => "Poor",
            Grade::D => "Very poor",
        }
    }
}

/// Answers added up: the number of respondents and the sum of each element's scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub respondents: u64,
    pub sums: [u64; 9],
}

impl Tally {
    pub fn add(&mut self, scores: Scores) {
        self.respondents += 1;
        for (sum, s) in self.sums.iter_mut().zip(scores.0) {
            *sum += u64::from(s);
        }
    }

    /// Adds another tally (of another day, SOP or service point).
    pub fn merge(&mut self, other: &Tally) {
        self.respondents += other.respondents;
        for (a, b) in self.sums.iter_mut().zip(other.sums) {
            *a += b;
        }
    }

    /// Each element's average (NRR), in [`ELEMENTS`] order; none without respondents.
    pub fn averages(&self) -> Option<[f64; 9]> {
        if self.respondents == 0 {
            return None;
        }
        let n = self.respondents as f64;
        Some(self.sums.map(|s| s as f64 / n))
    }

    /// The index with `weighting`, in hundredths, rounded half up; none without respondents.
    pub fn index_hundredths(&self, weighting: Weighting) -> Option<u32> {
        if self.respondents == 0 {
            return None;
        }
        let total: u128 = self.sums.iter().map(|&s| u128::from(s)).sum();
        let n = u128::from(self.respondents);
        // Exact: 100 × 25 × (total / n) / 9. Rounded: 100 × 25 × 0.111 × total / n.
        let (num, den) = match weighting {
            Weighting::Exact => (2500 * total, 9 * n),
            Weighting::Rounded => (2775 * total, 10 * n),
        };
        u32::try_from((2 * num + den) / (2 * den)).ok()
    }

    /// The index and grade with `weighting`.
    pub fn ikm(&self, weighting: Weighting) -> Option<Ikm> {
        let hundredths = self.index_hundredths(weighting)?;
        Some(Ikm {
            hundredths,
            grade: Grade::of_hundredths(hundredths),
        })
    }
}

/// An index (25.00–100.00) and its grade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ikm {
    pub hundredths: u32,
    pub grade: Grade,
}

impl Ikm {
    /// `76.67`.
    pub fn text(self) -> String {
        format!("{}.{:02}", self.hundredths / 100, self.hundredths % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` respondents answering 3 everywhere, with `fours` of the answers raised to 4 (one
    /// per respondent and element in turn).
    fn tally(n: u64, fours: usize) -> Tally {
        let mut t = Tally::default();
        let mut left = fours;
        for _ in 0..n {
            let mut s = [3u8; 9];
            for x in s.iter_mut() {
                if left > 0 {
                    *x = 4;
                    left -= 1;
                }
            }
            t.add(Scores::new(s).unwrap());
        }
        t
    }

    #[test]
    fn near_the_b_boundary_the_weightings_give_different_grades() {
        // 5 respondents, 45 answers: 42 threes and 3 fours, total 138.
        // Σ NRR = 138 / 5 = 27.6.
        // Exact:   27.6 / 9 × 25 = 76.666… → 76.67, grade B (from 76.61).
        // Rounded: 27.6 × 0.111 × 25 = 76.59 exactly, grade C (76.60 and below).
        let t = tally(5, 3);
        assert_eq!(t.sums.iter().sum::<u64>(), 138);
        let exact = t.ikm(Weighting::Exact).unwrap();
        let rounded = t.ikm(Weighting::Rounded).unwrap();
        assert_eq!((exact.text(), exact.grade), ("76.67".to_owned(), Grade::B));
        assert_eq!(
            (rounded.text(), rounded.grade),
            ("76.59".to_owned(), Grade::C)
        );
    }

    #[test]
    fn near_the_a_boundary_and_half_up_rounding() {
        // 5 respondents, 24 fours and 21 threes: total 159, Σ NRR = 31.8.
        // Exact:   31.8 / 9 × 25 = 88.333… → 88.33, grade A (from 88.31).
        // Rounded: 31.8 × 0.111 × 25 = 88.245 → half up 88.25, grade B.
        let t = tally(5, 24);
        assert_eq!(t.sums.iter().sum::<u64>(), 159);
        assert_eq!(t.ikm(Weighting::Exact).unwrap().text(), "88.33");
        assert_eq!(t.ikm(Weighting::Exact).unwrap().grade, Grade::A);
        assert_eq!(t.ikm(Weighting::Rounded).unwrap().text(), "88.25");
        assert_eq!(t.ikm(Weighting::Rounded).unwrap().grade, Grade::B);
    }

    #[test]
    fn at_the_c_boundary() {
        // 5 respondents: 18 twos and 27 threes, total 36 + 81 = 117, Σ NRR = 23.4.
        // Exact:   23.4 / 9 × 25 = 65.00 exactly, grade C (from 65.00).
        // Rounded: 23.4 × 0.111 × 25 = 64.935 → 64.94, grade D.
        let mut t = Tally::default();
        for r in 0..5 {
            let mut s = [3u8; 9];
            for (e, x) in s.iter_mut().enumerate() {
                if (r * 9 + e) < 18 {
                    *x = 2;
                }
            }
            t.add(Scores::new(s).unwrap());
        }
        assert_eq!(t.sums.iter().sum::<u64>(), 117);
        assert_eq!(t.ikm(Weighting::Exact).unwrap().text(), "65.00");
        assert_eq!(t.ikm(Weighting::Exact).unwrap().grade, Grade::C);
        assert_eq!(t.ikm(Weighting::Rounded).unwrap().text(), "64.94");
        assert_eq!(t.ikm(Weighting::Rounded).unwrap().grade, Grade::D);
    }

    #[test]
    fn the_ends_of_the_scale() {
        // All 4: exact 4 × 9 / 9 × 25 = 100.00; rounded 36 × 0.111 × 25 = 99.90. Both A.
        let mut top = Tally::default();
        top.add(Scores([4; 9]));
        assert_eq!(top.ikm(Weighting::Exact).unwrap().text(), "100.00");
        assert_eq!(top.ikm(Weighting::Rounded).unwrap().text(), "99.90");
        assert_eq!(top.ikm(Weighting::Rounded).unwrap().grade, Grade::A);
        // All 1: exact 25.00; rounded 9 × 0.111 × 25 = 24.975 → 24.98. Both D.
        let mut bottom = Tally::default();
        bottom.add(Scores([1; 9]));
        assert_eq!(bottom.ikm(Weighting::Exact).unwrap().text(), "25.00");
        assert_eq!(bottom.ikm(Weighting::Rounded).unwrap().text(), "24.98");
        assert_eq!(bottom.ikm(Weighting::Exact).unwrap().grade, Grade::D);
        assert_eq!(Tally::default().ikm(Weighting::Exact), None);
    }

    #[test]
    fn element_averages_and_a_worked_office_example() {
        // Two respondents: [4,3,3,2,4,4,3,3,2] (sum 28) and [3,3,4,4,3,4,4,2,3] (sum 30).
        // NRR per element: 3.5, 3, 3.5, 3, 3.5, 4, 3.5, 2.5, 2.5; Σ = 29.
        // Exact: 29 / 9 × 25 = 80.555… → 80.56, B. Rounded: 29 × 2.775 = 80.475 → 80.48, B.
        let mut t = Tally::default();
        t.add(Scores::new([4, 3, 3, 2, 4, 4, 3, 3, 2]).unwrap());
        t.add(Scores::new([3, 3, 4, 4, 3, 4, 4, 2, 3]).unwrap());
        assert_eq!(
            t.averages().unwrap(),
            [3.5, 3.0, 3.5, 3.0, 3.5, 4.0, 3.5, 2.5, 2.5]
        );
        assert_eq!(t.ikm(Weighting::Exact).unwrap().text(), "80.56");
        assert_eq!(t.ikm(Weighting::Rounded).unwrap().text(), "80.48");
        assert_eq!(t.ikm(Weighting::Exact).unwrap().grade, Grade::B);
        // Merging two halves gives the whole.
        let mut a = Tally::default();
        a.add(Scores::new([4, 3, 3, 2, 4, 4, 3, 3, 2]).unwrap());
        let mut b = Tally::default();
        b.add(Scores::new([3, 3, 4, 4, 3, 4, 4, 2, 3]).unwrap());
        a.merge(&b);
        assert_eq!(a, t);
    }

    #[test]
    fn grade_intervals() {
        assert_eq!(Grade::of_hundredths(10000), Grade::A);
        assert_eq!(Grade::of_hundredths(8831), Grade::A);
        assert_eq!(Grade::of_hundredths(8830), Grade::B);
        assert_eq!(Grade::of_hundredths(7661), Grade::B);
        assert_eq!(Grade::of_hundredths(7660), Grade::C);
        assert_eq!(Grade::of_hundredths(6500), Grade::C);
        assert_eq!(Grade::of_hundredths(6499), Grade::D);
        assert_eq!(Grade::of_hundredths(2500), Grade::D);
    }

    #[test]
    fn answers_are_checked() {
        let ok = [Some("4"); 9];
        assert_eq!(Scores::parse(ok), Ok(Scores([4; 9])));
        let mut missing = ok;
        missing[2] = None;
        assert_eq!(Scores::parse(missing), Err(AnswerError::Score("waktu")));
        let mut five = ok;
        five[8] = Some("5");
        assert_eq!(Scores::parse(five), Err(AnswerError::Score("pengaduan")));
        assert!(Scores::new([0; 9]).is_err());
        assert_eq!(comment(Some("  ")), Ok(None));
        assert_eq!(comment(None), Ok(None));
        assert_eq!(
            comment(Some(" Cepat,\nramah ")),
            Ok(Some("Cepat,\nramah".into()))
        );
        assert_eq!(comment(Some("a\u{7}b")), Err(AnswerError::CommentControl));
        assert_eq!(
            comment(Some(&"x".repeat(MAX_COMMENT + 1))),
            Err(AnswerError::CommentTooLong)
        );
        assert!(comment(Some(&"é".repeat(MAX_COMMENT))).is_ok());
    }

    #[test]
    fn weighting_names() {
        for w in [Weighting::Exact, Weighting::Rounded] {
            assert_eq!(Weighting::parse(w.id()), Some(w));
        }
        assert_eq!(Weighting::parse("0.11"), None);
    }
}
