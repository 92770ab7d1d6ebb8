//! The connectors' common reader: a delimited export read row by row ([`Sheet`]), its
//! delimiter sniffed and its header row found by column aliases, with the lenient date
//! and quantity parsing ERP exports need.

use chrono::{Datelike, NaiveDate};

use crate::optimize::input::{DemandTable, InputError, MAX_QUANTITY, Place, check_sku, csv_error};
use crate::optimize::period::Bucket;

/// The file name in messages.
pub(super) const FILE: &str = "demand";

/// A column and the header names it goes by, normalized (lowercase ASCII letters and
/// digits only).
pub(crate) struct Column {
    /// The documented name, for messages.
    pub name: &'static str,
    /// Accepted normalized names.
    pub aliases: &'static [&'static str],
}

/// A delimited export being read row by row.
pub(crate) struct Sheet<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
    /// Whether `,` is the decimal separator (`;`- or tab-delimited files).
    pub decimal_comma: bool,
}

/// Rows searched for the header before giving up.
const HEADER_SEARCH: usize = 50;

impl<'a> Sheet<'a> {
    /// Starts reading `text`, its delimiter sniffed.
    pub fn open(text: &'a str) -> Self {
        let delimiter = sniff_delimiter(text);
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        Self {
            reader,
            record: csv::StringRecord::new(),
            decimal_comma: delimiter != b',',
        }
    }

    /// Advances to the next row; `false` at the end.
    pub fn next_row(&mut self) -> Result<bool, InputError> {
        self.reader
            .read_record(&mut self.record)
            .map_err(|e| csv_error(FILE, &e))
    }

    /// The current row's place.
    pub fn place(&self) -> Place {
        Place::Line(self.record.position().map_or(0, csv::Position::line))
    }

    /// A cell of the current row (`""` past its end).
    pub fn cell(&self, i: usize) -> &str {
        self.record.get(i).unwrap_or("")
    }

    /// The cells of the current row.
    pub fn cells(&self) -> impl Iterator<Item = &str> {
        self.record.iter()
    }

    /// Finds the header row holding every `required` column and returns their indices,
    /// plus those of the `optional` ones present.
    pub fn header(
        &mut self,
        required: &[&Column],
        optional: &[&Column],
        expected: &'static str,
    ) -> Result<(Vec<usize>, Vec<Option<usize>>), InputError> {
        for _ in 0..HEADER_SEARCH {
            if !self.next_row()? {
                break;
            }
            let names: Vec<String> = self.cells().map(normalize).collect();
            let find = |c: &Column| names.iter().position(|n| c.aliases.contains(&n.as_str()));
            let found: Vec<Option<usize>> = required.iter().map(|c| find(c)).collect();
            if found.iter().all(Option::is_some) {
                return Ok((
                    found.into_iter().flatten().collect(),
                    optional.iter().map(|c| find(c)).collect(),
                ));
            }
        }
        Err(InputError::MissingColumn {
            file: FILE,
            line: 1,
            column: required
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join("`, `"),
            expected,
        })
    }

    /// The current row's date in column `i`, or an error naming it.
    pub fn date(&self, i: usize, column: &str) -> Result<NaiveDate, InputError> {
        parse_date(self.cell(i)).ok_or_else(|| {
            self.bad(
                i,
                column,
                "a date such as 2024-01-31, 31.01.2024 or 01/31/2024",
            )
        })
    }

    /// The current row's quantity in column `i` (at most [`MAX_QUANTITY`] either way), or
    /// an error naming it.
    pub fn quantity(&self, i: usize, column: &str) -> Result<f64, InputError> {
        parse_quantity(self.cell(i), self.decimal_comma)
            .filter(|q| q.abs() <= MAX_QUANTITY)
            .ok_or_else(|| {
                self.bad(
                    i,
                    column,
                    &format!(
                        "a quantity such as 12, -3.5 or 1,200, at most {MAX_QUANTITY:e} either way"
                    ),
                )
            })
    }

    /// The current row's SKU id in column `i`, or an error naming it when too long.
    pub fn sku(&self, i: usize, column: &str) -> Result<&str, InputError> {
        check_sku(self.cell(i), FILE, column, self.place())
    }

    fn bad(&self, i: usize, column: &str, expected: &str) -> InputError {
        InputError::BadValue {
            file: FILE,
            place: self.place(),
            column: column.to_owned(),
            value: self.cell(i).to_owned(),
            expected: expected.to_owned(),
        }
    }

    /// Whether every cell of the current row is blank.
    pub fn is_blank(&self) -> bool {
        self.cells().all(str::is_empty)
    }
}

/// Adds consumption of `sku` on `date` to its bucket.
pub(crate) fn add(
    table: &mut DemandTable,
    place: Place,
    sku: &str,
    date: NaiveDate,
    bucket: Bucket,
    quantity: f64,
) -> Result<(), InputError> {
    table.add(place, sku, bucket.period(date), quantity)
}

/// The delimiter with the most occurrences in the first lines: tab, `;` or `,`.
fn sniff_delimiter(text: &str) -> u8 {
    let head: String = text.lines().take(20).collect::<Vec<_>>().join("\n");
    [b'\t', b';', b',']
        .into_iter()
        .max_by_key(|d| (head.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

/// A header name reduced to lowercase ASCII letters and digits.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Parses the date at the start of `text` (a time after it is ignored).
pub(crate) fn parse_date(text: &str) -> Option<NaiveDate> {
    let token = text.trim().split([' ', 'T']).next()?;
    const FORMATS: [&str; 9] = [
        "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%Y/%m/%d", "%Y.%m.%d", "%d-%b-%Y", "%m-%d-%Y",
        "%Y%m%d", "%d-%b-%y",
    ];
    FORMATS
        .iter()
        .filter_map(|f| NaiveDate::parse_from_str(token, f).ok())
        .find(|d| (1900..=2200).contains(&d.year()))
        .or_else(|| {
            NaiveDate::parse_from_str(token, "%m/%d/%y")
                .ok()
                .filter(|d| (1900..=2200).contains(&d.year()))
        })
}

/// Parses an exported quantity: thousands separators, currency signs, `12-` and `(12)`.
pub(crate) fn parse_quantity(text: &str, decimal_comma: bool) -> Option<f64> {
    let mut s: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '$' | '€' | '£'))
        .collect();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        s = inner.to_owned();
        negative = true;
    }
    if let Some(inner) = s.strip_suffix('-') {
        s = inner.to_owned();
        negative = !negative;
    }
    let s = if decimal_comma {
        s.replace('.', "").replace(',', ".")
    } else {
        s.replace(',', "")
    };
    let v: f64 = s.parse().ok().filter(|v: &f64| v.is_finite())?;
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_date_and_number_formats_of_exports() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 15).expect("date");
        for text in [
            "2024-01-15",
            "15.01.2024",
            "01/15/2024",
            "15-JAN-2024 10:32:11",
            "15-Jan-24",
            "20240115",
            "2024-01-15T08:00:00",
            "1/15/24",
        ] {
            assert_eq!(parse_date(text), Some(d), "{text}");
        }
        assert_eq!(parse_date("Total for Widget"), None);
        assert_eq!(parse_quantity("1,234.50", false), Some(1234.5));
        assert_eq!(parse_quantity("1.234,500", true), Some(1234.5));
        assert_eq!(parse_quantity("12-", true), Some(-12.0));
        assert_eq!(parse_quantity("($3.00)", false), Some(-3.0));
        assert_eq!(parse_quantity("", false), None);
        assert_eq!(sniff_delimiter("a\tb\tc\n1\t2\t3"), b'\t');
        assert_eq!(sniff_delimiter("a;b;c\n1;2,5;3"), b';');
    }

    #[test]
    fn quantities_past_the_range_and_long_skus_are_refused_where_they_are() {
        let long = "M".repeat(101);
        let text = format!("Material,Qty\nA,1000000000000\nA,-1000000000000\nA,1e13\n{long},1\n");
        let mut sheet = Sheet::open(&text);
        let mut row = || {
            assert!(sheet.next_row().expect("row"));
            (
                sheet.quantity(1, "Qty").map_err(|e| e.to_string()),
                sheet
                    .sku(0, "Material")
                    .map(str::len)
                    .map_err(|e| e.to_string()),
            )
        };
        assert!(row().0.is_err(), "the header row has no quantity");
        assert_eq!(row(), (Ok(1e12), Ok(1)));
        assert_eq!(row(), (Ok(-1e12), Ok(1)));
        let (quantity, _) = row();
        assert_eq!(
            quantity,
            Err("demand line 4, column `Qty`: `1e13` is not a quantity such as 12, -3.5 or 1,200, at most 1e12 either way".to_owned())
        );
        let (_, sku) = row();
        assert!(
            sku.as_ref().is_err_and(
                |e| e.starts_with("demand line 5, column `Material`: `MMMMMMMMMMMMMMMMMMMM…`")
            ),
            "{sku:?}"
        );
    }
}
