//! Readers of the long format: demand as `sku,period,quantity` rows (CSV, or JSON records
//! with those keys) and per-SKU parameters (`sku,lead_time_mean,lead_time_sd,unit_cost,
//! holding_cost_rate,ordering_cost,moq`, CSV or JSON, blank = default). Part of
//! [`super::input`]; connector exports have their own readers in [`super::connectors`].

use super::input::{
    DemandTable, InputError, MAX_QUANTITY, PARAM_COLUMNS, Place, SkuParams, check_sku, csv_error,
    json_error, looks_like_json, param_value,
};
use super::period::Period;
use serde::Deserialize;
use std::collections::BTreeMap;

const DEMAND: &str = "demand";
const PARAMETERS: &str = "parameters";
const DEMAND_HEADER: &str = "a header `sku,period,quantity`";
const PARAM_HEADER: &str = "a header `sku,lead_time_mean,lead_time_sd,unit_cost,holding_cost_rate,ordering_cost,moq` (all but sku optional)";

/// A SKU id or period written as a JSON string or integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Int(i64),
    Text(String),
}

impl Scalar {
    fn text(&self) -> String {
        match self {
            Self::Int(i) => i.to_string(),
            Self::Text(t) => t.trim().to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DemandRecord {
    sku: Scalar,
    period: Scalar,
    quantity: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamRecord {
    sku: Scalar,
    lead_time_mean: Option<f64>,
    lead_time_sd: Option<f64>,
    unit_cost: Option<f64>,
    holding_cost_rate: Option<f64>,
    ordering_cost: Option<f64>,
    moq: Option<f64>,
}

/// The single-document JSON form: demand records and, optionally, parameters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    demand: Vec<DemandRecord>,
    #[serde(default)]
    parameters: Vec<ParamRecord>,
}

/// Reads long-format demand (CSV, or with `json` an array of records or `{"demand":
/// [...], "parameters": [...]}`) into `table`. Returns the parameters embedded in a JSON
/// body.
pub(crate) fn read_demand(
    text: &str,
    json: bool,
    table: &mut DemandTable,
) -> Result<BTreeMap<String, SkuParams>, InputError> {
    if !json {
        read_demand_csv(text, table)?;
        return Ok(BTreeMap::new());
    }
    let (records, params) = if text.trim_start().starts_with('[') {
        let records: Vec<DemandRecord> =
            serde_json::from_str(text).map_err(|e| json_error(DEMAND, &e))?;
        (records, Vec::new())
    } else {
        let body: Body = serde_json::from_str(text).map_err(|e| json_error(DEMAND, &e))?;
        (body.demand, body.parameters)
    };
    for (i, r) in records.iter().enumerate() {
        let place = Place::Record(i + 1);
        let period = period(&r.period.text(), place)?;
        let quantity = quantity(r.quantity, &format!("{:?}", r.quantity), place)?;
        table.add(place, &sku(&r.sku.text(), DEMAND, place)?, period, quantity)?;
    }
    param_records(&params)
}

fn read_demand_csv(text: &str, table: &mut DemandTable) -> Result<(), InputError> {
    let mut reader = csv_reader(text);
    let header = reader.headers().map_err(|e| csv_error(DEMAND, &e))?.clone();
    let col = |name: &str| {
        let mut found = header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.eq_ignore_ascii_case(name))
            .map(|(i, _)| i);
        match (found.next(), found.next()) {
            (Some(i), None) => Ok(i),
            (Some(first), Some(second)) => Err(duplicate(DEMAND, name, first, second)),
            (None, _) => Err(InputError::MissingColumn {
                file: DEMAND,
                line: 1,
                column: name.to_owned(),
                expected: DEMAND_HEADER,
            }),
        }
    };
    let (c_sku, c_period, c_qty) = (col("sku")?, col("period")?, col("quantity")?);
    let mut record = csv::StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|e| csv_error(DEMAND, &e))?
    {
        let place = Place::Line(record.position().map_or(0, csv::Position::line));
        let field = |i: usize| record.get(i).unwrap_or("");
        let period = period(field(c_period), place)?;
        let raw = field(c_qty);
        let parsed = raw.trim().parse::<f64>().unwrap_or(f64::NAN);
        let quantity = quantity(parsed, raw, place)?;
        table.add(place, &sku(field(c_sku), DEMAND, place)?, period, quantity)?;
    }
    Ok(())
}

/// Reads a parameters file (CSV or a JSON array of records).
pub(crate) fn read_params(text: &str) -> Result<BTreeMap<String, SkuParams>, InputError> {
    if looks_like_json(text) {
        let records: Vec<ParamRecord> =
            serde_json::from_str(text).map_err(|e| json_error(PARAMETERS, &e))?;
        return param_records(&records);
    }
    let mut reader = csv_reader(text);
    let header = reader
        .headers()
        .map_err(|e| csv_error(PARAMETERS, &e))?
        .clone();
    let mut c_sku = None;
    let mut columns = Vec::new();
    for (i, h) in header.iter().enumerate() {
        if h.eq_ignore_ascii_case("sku") {
            if let Some(first) = c_sku {
                return Err(duplicate(PARAMETERS, "sku", first, i));
            }
            c_sku = Some(i);
        } else if let Some(k) = PARAM_COLUMNS
            .iter()
            .position(|c| h.eq_ignore_ascii_case(c.name))
        {
            if let Some(&(first, _)) = columns.iter().find(|&&(_, seen)| seen == k) {
                return Err(duplicate(PARAMETERS, PARAM_COLUMNS[k].name, first, i));
            }
            columns.push((i, k));
        } else {
            return Err(InputError::BadValue {
                file: PARAMETERS,
                place: Place::Line(1),
                column: h.to_owned(),
                value: h.to_owned(),
                expected: format!("a known column; expected {PARAM_HEADER}"),
            });
        }
    }
    let c_sku = c_sku.ok_or(InputError::MissingColumn {
        file: PARAMETERS,
        line: 1,
        column: "sku".to_owned(),
        expected: PARAM_HEADER,
    })?;
    let mut out = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(PARAMETERS, &e))?;
        let place = Place::Line(record.position().map_or(0, csv::Position::line));
        let mut params = SkuParams::default();
        for &(i, k) in &columns {
            if let Some(v) = param_value(k, record.get(i).unwrap_or(""), place)? {
                params.set(k, v);
            }
        }
        insert_params(
            &mut out,
            sku(record.get(c_sku).unwrap_or(""), PARAMETERS, place)?,
            params,
            place,
        )?;
    }
    Ok(out)
}

fn param_records(records: &[ParamRecord]) -> Result<BTreeMap<String, SkuParams>, InputError> {
    let mut out = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let place = Place::Record(i + 1);
        let mut params = SkuParams::default();
        let values = [
            r.lead_time_mean,
            r.lead_time_sd,
            r.unit_cost,
            r.holding_cost_rate,
            r.ordering_cost,
            r.moq,
        ];
        for (k, v) in values.into_iter().enumerate() {
            if let Some(v) = v.and_then(|v| param_value(k, &v.to_string(), place).transpose()) {
                params.set(k, v?);
            }
        }
        insert_params(
            &mut out,
            sku(&r.sku.text(), PARAMETERS, place)?,
            params,
            place,
        )?;
    }
    Ok(out)
}

fn insert_params(
    out: &mut BTreeMap<String, SkuParams>,
    sku: String,
    params: SkuParams,
    place: Place,
) -> Result<(), InputError> {
    if out.contains_key(&sku) {
        return Err(InputError::DuplicateSku { place, sku });
    }
    out.insert(sku, params);
    Ok(())
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// A header's column named twice (0-based positions).
fn duplicate(file: &'static str, column: &str, first: usize, second: usize) -> InputError {
    InputError::DuplicateColumn {
        file,
        column: column.to_owned(),
        first: first + 1,
        second: second + 1,
    }
}

fn sku(text: &str, file: &'static str, place: Place) -> Result<String, InputError> {
    let text = check_sku(text.trim(), file, "sku", place)?;
    if text.is_empty() {
        return Err(InputError::BadValue {
            file,
            place,
            column: "sku".to_owned(),
            value: String::new(),
            expected: "a SKU id; every row needs one".to_owned(),
        });
    }
    Ok(text.to_owned())
}

fn period(text: &str, place: Place) -> Result<Period, InputError> {
    Period::parse(text).ok_or_else(|| InputError::BadValue {
        file: DEMAND,
        place,
        column: "period".to_owned(),
        value: text.trim().to_owned(),
        expected: "an integer or a YYYY-MM-DD date".to_owned(),
    })
}

fn quantity(value: f64, raw: &str, place: Place) -> Result<f64, InputError> {
    if (0.0..=MAX_QUANTITY).contains(&value) {
        return Ok(value);
    }
    Err(InputError::BadValue {
        file: DEMAND,
        place,
        column: "quantity".to_owned(),
        value: raw.trim().to_owned(),
        expected: format!(
            "a number from 0 to {MAX_QUANTITY:e} (record returns as a lower quantity, not a negative row)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::input::Limits;
    use super::*;

    fn table() -> DemandTable {
        DemandTable::new(DEMAND, Limits::default())
    }

    fn history(text: &str) -> Vec<(String, Vec<f64>)> {
        let mut t = table();
        read_demand(text, looks_like_json(text), &mut t).expect("demand");
        let (_, skus) = t.finish(None, &BTreeMap::new()).expect("finish");
        skus.into_iter().map(|s| (s.sku, s.history)).collect()
    }

    #[test]
    fn sums_duplicates_and_fills_gaps_with_zero() {
        let csv = "SKU,period,quantity,extra\nb,2024-01-01,5,x\na,2024-01-01,1,\na,2024-03-01,2,\na,2024-01-01,4,\nb,2024-04-01,1,\n";
        assert_eq!(
            history(csv),
            vec![
                ("a".to_owned(), vec![5.0, 0.0, 2.0, 0.0]),
                ("b".to_owned(), vec![5.0, 0.0, 0.0, 1.0])
            ]
        );
        let json = r#"[{"sku":"a","period":1,"quantity":2},{"sku":7,"period":3,"quantity":1.5}]"#;
        assert_eq!(
            history(json),
            vec![
                ("7".to_owned(), vec![1.5]),
                ("a".to_owned(), vec![2.0, 0.0, 0.0])
            ]
        );
    }

    #[test]
    fn names_the_line_and_column_of_bad_values() {
        let err = |text: &str| {
            read_demand(text, looks_like_json(text), &mut table())
                .expect_err("refused")
                .to_string()
        };
        assert_eq!(
            err("sku,period,quantity\na,1,3\na,2,-1\n"),
            "demand line 3, column `quantity`: `-1` is not a number from 0 to 1e12 (record returns as a lower quantity, not a negative row)"
        );
        for huge in ["1e30", "1e308", "1000000000001"] {
            assert!(
                err(&format!("sku,period,quantity\na,1,3\na,2,{huge}\n")).starts_with(&format!(
                    "demand line 3, column `quantity`: `{huge}` is not a number from 0 to 1e12"
                )),
                "{huge}"
            );
        }
        assert!(
            err(r#"[{"sku":"a","period":1,"quantity":1e308}]"#)
                .starts_with("demand record 1, column `quantity`: `1e308`")
        );
        assert_eq!(
            err("sku,period,quantity,SKU\na,1,3,b\n"),
            "demand line 1: the header has two `sku` columns (columns 1 and 4); keep one"
        );
        assert_eq!(
            err(&format!(
                "sku,period,quantity\na,1,3\n{},1,3\n",
                "x".repeat(101)
            )),
            format!(
                "demand line 3, column `sku`: `{}…` is not a SKU id of at most 100 characters",
                "x".repeat(20)
            )
        );
        assert_eq!(
            history(&format!(
                "sku,period,quantity\n{},1,1000000000000\n",
                "x".repeat(100)
            )),
            vec![("x".repeat(100), vec![1e12])]
        );
        assert!(
            err("sku,period,quantity\na,1,NaN\n")
                .starts_with("demand line 2, column `quantity`: `NaN`")
        );
        assert_eq!(
            err("sku,period,quantity\na,1,3\na,2024-01-01,1\n"),
            "demand line 3: period `2024-01-01` is a date but earlier periods are integers; use one kind (integers or YYYY-MM-DD dates) throughout"
        );
        assert!(err("sku,when,quantity\n").contains("no `period` column"));
        assert!(
            err("[{\"sku\":\"a\",\"period\":1}]").starts_with("demand: invalid JSON at line 1")
        );
        assert!(
            err(r#"[{"sku":"a","period":"x","quantity":1}]"#)
                .starts_with("demand record 1, column `period`")
        );
    }

    #[test]
    fn row_cap_stops_a_hostile_upload() {
        let mut t = DemandTable::new(
            DEMAND,
            Limits {
                max_rows: 2,
                ..Limits::default()
            },
        );
        let e = read_demand("sku,period,quantity\na,1,1\na,2,1\na,3,1\n", false, &mut t)
            .expect_err("cap");
        assert!(
            matches!(
                e,
                InputError::TooManyRows {
                    place: Place::Line(4),
                    ..
                }
            ),
            "{e}"
        );
        let mut t = DemandTable::new(
            DEMAND,
            Limits {
                max_cells: 100,
                ..Limits::default()
            },
        );
        read_demand(
            "sku,period,quantity\na,1,1\na,2,1\na,1000,1\n",
            false,
            &mut t,
        )
        .expect("rows");
        assert!(matches!(
            t.finish(None, &BTreeMap::new()),
            Err(InputError::TooManyCells {
                cells: 1000,
                limit: 100
            })
        ));
        // Periods at the ends of the integer range do not overflow the layout.
        let mut t = table();
        let far = "sku,period,quantity\na,-9000000000000000000,1\na,9000000000000000000,1\n";
        read_demand(far, false, &mut t).expect("rows");
        assert!(matches!(
            t.finish(None, &BTreeMap::new()),
            Err(InputError::TooManyCells { .. })
        ));
    }

    #[test]
    fn parameters_default_blanks_and_refuse_bad_values() {
        let p = read_params("sku,lead_time_mean,moq\na,3,\nb,,12\n").expect("params");
        assert_eq!(p["a"].lead_time_mean, 3.0);
        assert_eq!(p["a"].moq, SkuParams::default().moq);
        assert_eq!(p["b"].moq, 12.0);
        let json = read_params(r#"[{"sku":"a","unit_cost":2.5}]"#).expect("json");
        assert_eq!(json["a"].unit_cost, 2.5);
        let e = read_params("sku,unit_cost\na,0\n").expect_err("zero cost");
        assert_eq!(
            e.to_string(),
            "parameters line 2, column `unit_cost`: `0` is not a cost > 0"
        );
        let e = read_params("sku,lead_time\na,1\n").expect_err("unknown column");
        assert!(e.to_string().contains("`lead_time`"), "{e}");
        let e = read_params("sku\na\na\n").expect_err("dup");
        assert!(
            e.to_string().contains("line 3: SKU `a` is listed twice"),
            "{e}"
        );
        for (header, column) in [("sku,moq,SKU", "sku"), ("sku,moq,unit_cost,MOQ", "moq")] {
            let e = read_params(&format!("{header}\na,1,1,1\n")).expect_err("duplicate column");
            assert!(
                e.to_string().starts_with(&format!(
                    "parameters line 1: the header has two `{column}` columns"
                )),
                "{e}"
            );
        }
    }
}
