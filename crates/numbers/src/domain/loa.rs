//! The letter of authorisation (`GET /port_requests/{P}/loa`): a one-page PDF filled
//! from the request, written with `pdf-writer` (standard Helvetica, no embedded fonts).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
use serde_json::{Map, Value};

/// What the letter shows.
pub struct LetterFields<'a> {
    pub request_id: &'a str,
    pub account_name: &'a str,
    pub doc: &'a Map<String, Value>,
}

fn text(doc: &Map<String, Value>, path: &[&str]) -> String {
    let mut value = doc.get(path[0]);
    for key in &path[1..] {
        value = value.and_then(|v| v.get(*key));
    }
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Latin-1 text for a standard PDF font: anything outside it becomes `?`, and the
/// characters PDF strings treat specially are left to `Str`'s escaping.
fn latin1(line: &str) -> Vec<u8> {
    line.chars()
        .map(|c| {
            u8::try_from(u32::from(c))
                .ok()
                .filter(|b| *b >= 0x20)
                .unwrap_or(b'?')
        })
        .collect()
}

/// The lines of the letter, top to bottom.
pub fn letter_lines(fields: &LetterFields<'_>) -> Vec<String> {
    let doc = fields.doc;
    let mut lines = vec![
        "LETTER OF AUTHORIZATION".to_string(),
        String::new(),
        format!(
            "Port request: {} ({})",
            text(doc, &["name"]),
            fields.request_id
        ),
        format!("Account: {}", fields.account_name),
        format!("Current carrier: {}", text(doc, &["bill", "carrier"])),
        format!("Winning carrier: {}", text(doc, &["winning_carrier"])),
        format!(
            "Account number with current carrier: {}",
            text(doc, &["bill", "account_number"])
        ),
        String::new(),
        "Billing name and service address:".to_string(),
        format!("  {}", text(doc, &["bill", "name"])),
        format!(
            "  {} {} {}",
            text(doc, &["bill", "street_number"]),
            text(doc, &["bill", "street_address"]),
            text(doc, &["bill", "street_type"])
        ),
        format!(
            "  {}, {} {}",
            text(doc, &["bill", "locality"]),
            text(doc, &["bill", "region"]),
            text(doc, &["bill", "postal_code"])
        ),
        String::new(),
        "Telephone numbers to be ported:".to_string(),
    ];
    if let Some(Value::Object(numbers)) = doc.get("numbers") {
        for number in numbers.keys() {
            lines.push(format!("  {number}"));
        }
    }
    lines.extend([
        String::new(),
        "I authorize the winning carrier to act as my agent to port the numbers above".to_string(),
        "from my current carrier, and I am authorized to make this request.".to_string(),
        String::new(),
        format!("Requested transfer date: {}", text(doc, &["transfer_date"])),
        format!("Authorized signature: {}", text(doc, &["signee_name"])),
        format!("Date: {}", text(doc, &["signing_date"])),
    ]);
    lines
}

/// The letter as PDF bytes (US Letter; more numbers than fit flow onto more pages).
pub fn render(fields: &LetterFields<'_>) -> Vec<u8> {
    const LINES_PER_PAGE: usize = 48;
    let lines = letter_lines(fields);
    let pages: Vec<&[String]> = lines.chunks(LINES_PER_PAGE).collect();
    let mut pdf = Pdf::new();
    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let font_id = Ref::new(3);
    let font_name = Name(b"F1");
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(4 + 2 * i as i32))
        .collect();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.type1_font(font_id).base_font(Name(b"Helvetica"));
    for (index, chunk) in pages.iter().enumerate() {
        let page_id = page_ids[index];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 612.0, 792.0));
        page.parent(tree_id);
        page.contents(content_id);
        page.resources().fonts().pair(font_name, font_id);
        page.finish();
        let mut content = Content::new();
        content.begin_text();
        content.set_font(font_name, 11.0);
        content.set_leading(14.0);
        content.next_line(60.0, 740.0);
        for (line_no, line) in chunk.iter().enumerate() {
            if index == 0 && line_no == 0 {
                content.set_font(font_name, 16.0);
                content.show(Str(&latin1(line)));
                content.set_font(font_name, 11.0);
            } else {
                content.show(Str(&latin1(line)));
            }
            content.next_line_using_leading();
        }
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_pdf_with_the_request_in_it() {
        let Value::Object(doc) = json!({"name": "Move (HQ)", "numbers": {"+14155550100": {}},
                                        "bill": {"name": "ACME", "carrier": "Old Co"},
                                        "signee_name": "Ann Ämber"})
        else {
            unreachable!()
        };
        let bytes = render(&LetterFields {
            request_id: "abc",
            account_name: "ACME",
            doc: &doc,
        });
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.ends_with(b"%%EOF") || bytes.ends_with(b"%%EOF\n"));
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("+14155550100"));
        assert!(text.contains("Move") && text.contains("HQ"));
        let many: Map<String, Value> = (0..100)
            .map(|i| (format!("+1415555{i:04}"), json!({})))
            .collect();
        let Value::Object(mut doc) = json!({"name": "Big"}) else {
            unreachable!()
        };
        doc.insert("numbers".into(), Value::Object(many));
        let big = render(&LetterFields {
            request_id: "x",
            account_name: "A",
            doc: &doc,
        });
        assert!(String::from_utf8_lossy(&big).contains("/Count 3"));
    }
}
