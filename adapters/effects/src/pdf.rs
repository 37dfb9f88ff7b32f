//! Printed documents as PDF: an ID-1 card (85.6 × 54 mm, the KTP-el's size) or A4 pages.
//!
//! Only the PDF base fonts Helvetica and Helvetica-Bold are used (nothing embedded), nothing is
//! compressed and no date or document id is written, so the same document gives the same
//! bytes — a resent job is byte-identical, and the printed values can be found in the file.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};

use crate::{AdapterError, Layout, PrintDocument};

/// 85.6 mm in PDF points (1 pt = 1/72 in).
pub const CARD_WIDTH_PT: f32 = 85.6 / 25.4 * 72.0;
/// 54 mm in PDF points.
pub const CARD_HEIGHT_PT: f32 = 54.0 / 25.4 * 72.0;
/// 210 mm in PDF points.
pub const A4_WIDTH_PT: f32 = 210.0 / 25.4 * 72.0;
/// 297 mm in PDF points.
pub const A4_HEIGHT_PT: f32 = 297.0 / 25.4 * 72.0;
/// The lines an ID-1 card has room for below its title (the SOP validator holds to it).
pub const CARD_LINES: usize = 7;

/// A4 margins (20 mm), the label column's width and the line spacings.
const A4_MARGIN: f32 = 20.0 / 25.4 * 72.0;
const A4_LABEL_WIDTH: f32 = 170.0;
const A4_LINE: f32 = 18.0;
const A4_WRAPPED_LINE: f32 = 13.0;
/// Characters of 10 pt Helvetica that fit the value column (0.6 em each: capitals included).
const A4_VALUE_CHARS: usize = 52;
const A4_LABEL_CHARS: usize = 28;

/// Renders `document` on its layout. The text is written in WinAnsi (Latin-1 subset);
/// characters outside it are printed as `?`.
pub fn render(document: &PrintDocument) -> Result<Vec<u8>, AdapterError> {
    match document.layout {
        Layout::Id1Card => {
            if document.lines.len() > CARD_LINES {
                return Err(AdapterError::InvalidJob(format!(
                    "an ID-1 card holds {CARD_LINES} lines, the document has {}",
                    document.lines.len()
                )));
            }
            let page = card_page(document);
            write(CARD_WIDTH_PT, CARD_HEIGHT_PT, vec![page])
        }
        Layout::A4Document => write(A4_WIDTH_PT, A4_HEIGHT_PT, a4_pages(document)),
    }
}

fn text(font: &str, size: f32, x: f32, y: f32, s: &str) -> Vec<Operation> {
    vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec![font.into(), size.into()]),
        Operation::new("Td", vec![x.into(), y.into()]),
        Operation::new("Tj", vec![Object::string_literal(win_ansi(s))]),
        Operation::new("ET", vec![]),
    ]
}

/// The card: a thin frame at its edge, the title, then the lines; the first line (the
/// card's number, on a KTP-el) in bold and larger.
fn card_page(document: &PrintDocument) -> Vec<Operation> {
    let mut operations = vec![
        Operation::new("w", vec![0.5.into()]),
        Operation::new(
            "re",
            vec![
                2.into(),
                2.into(),
                (CARD_WIDTH_PT - 4.0).into(),
                (CARD_HEIGHT_PT - 4.0).into(),
            ],
        ),
        Operation::new("S", vec![]),
    ];
    operations.extend(text(
        "F2",
        8.0,
        10.0,
        CARD_HEIGHT_PT - 16.0,
        &document.title,
    ));
    for (i, line) in document.lines.iter().enumerate() {
        let y = CARD_HEIGHT_PT - 34.0 - 16.0 * i as f32;
        if i == 0 {
            operations.extend(text("F2", 7.0, 10.0, y, &line.label));
            operations.extend(text("F2", 9.0, 50.0, y, &line.value));
        } else {
            operations.extend(text("F1", 7.0, 10.0, y, &line.label));
            operations.extend(text("F1", 7.0, 50.0, y, &line.value));
        }
    }
    operations
}

/// A4 pages: the title and a rule on the first, then a line per label with its value, long
/// ones wrapped, onto more pages when one is full.
fn a4_pages(document: &PrintDocument) -> Vec<Vec<Operation>> {
    let top = A4_HEIGHT_PT - A4_MARGIN;
    let mut pages = Vec::new();
    let mut page = text("F2", 14.0, A4_MARGIN, top - 14.0, &document.title);
    page.extend([
        Operation::new("w", vec![0.75.into()]),
        Operation::new("m", vec![A4_MARGIN.into(), (top - 24.0).into()]),
        Operation::new(
            "l",
            vec![(A4_WIDTH_PT - A4_MARGIN).into(), (top - 24.0).into()],
        ),
        Operation::new("S", vec![]),
    ]);
    let mut y = top - 48.0;
    for line in &document.lines {
        let labels = wrap(&line.label, A4_LABEL_CHARS);
        let values = wrap(&line.value, A4_VALUE_CHARS);
        let rows = labels.len().max(values.len());
        let height = A4_WRAPPED_LINE * (rows - 1) as f32;
        if y - height < A4_MARGIN {
            pages.push(std::mem::take(&mut page));
            y = top - 14.0;
        }
        for row in 0..rows {
            let at = y - A4_WRAPPED_LINE * row as f32;
            if let Some(label) = labels.get(row) {
                page.extend(text("F1", 10.0, A4_MARGIN, at, label));
            }
            if let Some(value) = values.get(row) {
                page.extend(text("F2", 10.0, A4_MARGIN + A4_LABEL_WIDTH, at, value));
            }
        }
        y -= height + A4_LINE;
    }
    pages.push(page);
    pages
}

/// `s` in pieces of at most `width` characters, broken at spaces where it can be; one empty
/// piece for an empty text.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for word in s.split(' ') {
        let mut word = word.to_owned();
        loop {
            let len = current.chars().count();
            let extra = if len == 0 { 0 } else { 1 };
            if len + extra + word.chars().count() <= width {
                if extra == 1 {
                    current.push(' ');
                }
                current.push_str(&word);
                break;
            }
            if len > 0 {
                out.push(std::mem::take(&mut current));
                continue;
            }
            // A word longer than the line: cut it.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(head);
        }
    }
    out.push(current);
    out
}

/// The PDF of `pages` (content operations), each `width` × `height` points.
fn write(width: f32, height: f32, pages: Vec<Vec<Operation>>) -> Result<Vec<u8>, AdapterError> {
    let pdf_err =
        |e: lopdf::Error| AdapterError::InvalidJob(format!("cannot render the document: {e}"));
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let bold_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica-Bold",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id, "F2" => bold_id },
    });
    let mut kids: Vec<ObjectId> = Vec::with_capacity(pages.len());
    for operations in pages {
        let content = Content { operations }.encode().map_err(pdf_err)?;
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), width.into(), height.into()],
        }));
    }
    let count = i64::try_from(kids.len()).unwrap_or(i64::MAX);
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids.into_iter().map(Object::from).collect::<Vec<_>>(),
            "Count" => count,
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);

    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)
        .map_err(|e| AdapterError::InvalidJob(format!("cannot write the PDF: {e}")))?;
    Ok(bytes)
}

/// Maps text to WinAnsi bytes: ASCII and Latin-1 letters as they are, anything else as `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrintLine;

    fn line(label: &str, value: &str) -> PrintLine {
        PrintLine {
            label: label.into(),
            value: value.into(),
        }
    }

    fn card() -> PrintDocument {
        PrintDocument {
            layout: Layout::Id1Card,
            title: "REPUBLIK INDONESIA".into(),
            lines: vec![
                line("NIK", "3201010101900001"),
                line("Nama", "BUDI CONTOH (FIKTIF)"),
            ],
        }
    }

    #[test]
    fn card_pdf_is_deterministic_and_holds_the_values() {
        let a = render(&card()).unwrap();
        let b = render(&card()).unwrap();
        assert_eq!(a, b);
        assert!(
            a.starts_with(b"%PDF-"),
            "{:?}",
            String::from_utf8_lossy(&a[..20])
        );
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("3201010101900001"));
        assert!(text.contains("BUDI CONTOH \\(FIKTIF\\)") || text.contains("BUDI CONTOH (FIKTIF)"));
        let doc = Document::load_mem(&a).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
    }

    #[test]
    fn the_ktp_el_card_is_the_card_printed_before_printouts_came_from_the_sop() {
        // The bytes the KTP-specific renderer wrote for this card, kept as a fixture: the
        // SOP's printout (title, NIK, Nama) gives exactly the same card.
        let before = include_bytes!("../tests/fixtures/ktp-el-card.pdf");
        assert_eq!(render(&card()).unwrap(), before.to_vec());
    }

    #[test]
    fn card_size_is_id1_and_a_card_holds_seven_lines() {
        assert!((CARD_WIDTH_PT - 242.65).abs() < 0.01);
        assert!((CARD_HEIGHT_PT - 153.07).abs() < 0.01);
        let mut full = card();
        full.lines = (0..CARD_LINES).map(|i| line("L", &i.to_string())).collect();
        assert!(render(&full).is_ok());
        full.lines.push(line("L", "8"));
        assert!(matches!(render(&full), Err(AdapterError::InvalidJob(_))));
    }

    #[test]
    fn an_a4_document_is_a4_and_takes_more_pages_when_one_is_full() {
        let doc = PrintDocument {
            layout: Layout::A4Document,
            title: "KARTU KELUARGA".into(),
            lines: vec![
                line("No. KK", "1312990101900009"),
                line("Kepala Keluarga", "SITI CONTOH"),
            ],
        };
        let pdf = render(&doc).unwrap();
        assert_eq!(pdf, render(&doc).unwrap(), "deterministic");
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("KARTU KELUARGA") && text.contains("1312990101900009"));
        let loaded = Document::load_mem(&pdf).unwrap();
        assert_eq!(loaded.get_pages().len(), 1);
        let page = loaded.get_pages()[&1];
        let media = loaded
            .get_dictionary(page)
            .unwrap()
            .get(b"MediaBox")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_float().unwrap())
            .collect::<Vec<_>>();
        assert!((media[2] - 595.28).abs() < 0.01 && (media[3] - 841.89).abs() < 0.01);

        let long = PrintDocument {
            lines: (0..60)
                .map(|i| line(&format!("Anggota {i}"), &"NAMA PANJANG ".repeat(6)))
                .collect(),
            ..doc
        };
        let pdf = render(&long).unwrap();
        assert!(Document::load_mem(&pdf).unwrap().get_pages().len() > 1);
    }

    #[test]
    fn long_text_wraps_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("", 10), vec![""]);
        assert_eq!(wrap("JL. MERDEKA NO 1", 10), vec!["JL.", "MERDEKA NO", "1"]);
        assert_eq!(wrap("ABCDEFGHIJKL", 5), vec!["ABCDE", "FGHIJ", "KL"]);
    }

    #[test]
    fn non_latin_text_becomes_question_marks() {
        assert_eq!(win_ansi("Añ€"), b"A\xf1?".to_vec());
    }
}
