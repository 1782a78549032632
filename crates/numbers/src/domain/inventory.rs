//! Inventory files: CSV with a header row; the `number` column is required, every
//! other non-empty column is kept as locality metadata (`city`, `state`,
//! `rate_center`, `lata`, ...). Numbers are normalised to E.164.

use serde_json::{Map, Value};

use crate::store::numbers::InventoryLine;

/// Most lines one upload through the API may carry (the CLI has no limit).
pub const MAX_API_LINES: usize = 100_000;

/// A line that could not be read: (1-based line number, reason).
pub type LineError = (u64, String);

/// Parses an inventory CSV. Every bad line is reported; good lines are returned.
pub fn parse_csv<R: std::io::Read>(
    input: R,
) -> Result<(Vec<InventoryLine>, Vec<LineError>), String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("cannot read the header row: {e}"))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let Some(number_column) = headers.iter().position(|h| h == "number") else {
        return Err("the header row has no `number` column".into());
    };
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line_no = index as u64 + 2;
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                errors.push((line_no, e.to_string()));
                continue;
            }
        };
        let raw = record.get(number_column).unwrap_or_default();
        let number = crossbar_numbering::normalize(raw);
        if !crossbar_numbering::is_e164(&number) {
            errors.push((line_no, format!("`{raw}` is not an E.164 number")));
            continue;
        }
        let mut locality = Map::new();
        for (column, value) in headers.iter().zip(record.iter()) {
            if column != "number" && !value.is_empty() {
                locality.insert(column.clone(), Value::String(value.to_string()));
            }
        }
        lines.push(InventoryLine { number, locality });
    }
    Ok((lines, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_numbers_and_locality() {
        let csv =
            "number,city,state\n4155550100,San Francisco,CA\n+442079460000,London,\nbogus,x,y\n";
        let (lines, errors) = parse_csv(csv.as_bytes()).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].number, "+14155550100");
        assert_eq!(lines[0].locality["city"], "San Francisco");
        assert!(!lines[1].locality.contains_key("state"));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, 4);
        assert!(parse_csv("city\nx\n".as_bytes()).is_err());
    }
}
