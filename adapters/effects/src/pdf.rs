//! The card as a one-page PDF, KTP-el size (ID-1: 85.6 × 54 mm).
//!
//! Only the PDF base font Helvetica is used (nothing embedded), nothing is compressed and no date
//! or document id is written, so the same card gives the same bytes — a resent job is
//! byte-identical, and the NIK can be found in the printed file.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

use crate::{AdapterError, CardFields};

/// 85.6 mm in PDF points (1 pt = 1/72 in).
pub const CARD_WIDTH_PT: f32 = 85.6 / 25.4 * 72.0;
/// 54 mm in PDF points.
pub const CARD_HEIGHT_PT: f32 = 54.0 / 25.4 * 72.0;

/// Renders the card. The text is written in WinAnsi (Latin-1 subset); characters outside it are
/// printed as `?` (names on KTP-el are upper-case Latin letters).
pub fn render_card(card: &CardFields) -> Result<Vec<u8>, AdapterError> {
    let pdf_err =
        |e: lopdf::Error| AdapterError::InvalidJob(format!("cannot render the card: {e}"));

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

    let text = |font: &str, size: f32, x: f32, y: f32, s: &str| {
        vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec![font.into(), size.into()]),
            Operation::new("Td", vec![x.into(), y.into()]),
            Operation::new("Tj", vec![Object::string_literal(win_ansi(s))]),
            Operation::new("ET", vec![]),
        ]
    };
    let mut operations = vec![
        // A thin frame marks the card's edge.
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
        "REPUBLIK INDONESIA",
    ));
    operations.extend(text("F2", 7.0, 10.0, CARD_HEIGHT_PT - 34.0, "NIK"));
    operations.extend(text("F2", 9.0, 50.0, CARD_HEIGHT_PT - 34.0, &card.nik));
    operations.extend(text("F1", 7.0, 10.0, CARD_HEIGHT_PT - 50.0, "Nama"));
    operations.extend(text(
        "F1",
        7.0,
        50.0,
        CARD_HEIGHT_PT - 50.0,
        &card.nama_lengkap,
    ));
    let content = Content { operations }.encode().map_err(pdf_err)?;
    let content_id = doc.add_object(Stream::new(dictionary! {}, content));

    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources_id,
        "MediaBox" => vec![0.into(), 0.into(), CARD_WIDTH_PT.into(), CARD_HEIGHT_PT.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
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

    fn card() -> CardFields {
        CardFields {
            nik: "3201010101900001".into(),
            nama_lengkap: "BUDI CONTOH (FIKTIF)".into(),
        }
    }

    #[test]
    fn card_pdf_is_deterministic_and_holds_the_nik() {
        let a = render_card(&card()).unwrap();
        let b = render_card(&card()).unwrap();
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
    fn card_size_is_id1() {
        assert!((CARD_WIDTH_PT - 242.65).abs() < 0.01);
        assert!((CARD_HEIGHT_PT - 153.07).abs() < 0.01);
    }

    #[test]
    fn non_latin_text_becomes_question_marks() {
        assert_eq!(win_ansi("Añ€"), b"A\xf1?".to_vec());
    }
}
