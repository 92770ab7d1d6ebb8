//! SAP material movements as MB51 (Material Document List) exports them: one row per
//! material document item with Material, Plant, Movement Type, Posting Date and Quantity
//! (technical names MATNR, WERKS, BWART, BUDAT, MENGE/ERFMG and the German headers
//! Bewegungsart, Buchungsdatum, Menge also accepted). Consumption
//! is the goods issues — to cost centre (201), order (261), delivery (601) and the other
//! consumption types below — less their reversals (type + 1, e.g. 202/262/602). Receipts,
//! transfers and other movements are not demand and are skipped. MB51 shows issues with a
//! minus sign; the sign is taken from the movement type, not the quantity.

use super::sheet::{Column, Sheet, add};
use crate::optimize::input::{DemandTable, InputError};
use crate::optimize::period::Bucket;

const MATERIAL: Column = Column {
    name: "Material",
    aliases: &["material", "matnr", "materialnumber"],
};
const MOVEMENT: Column = Column {
    name: "Movement Type",
    aliases: &[
        "movementtype",
        "mvt",
        "mvmttype",
        "bwart",
        "bewegungsart",
        "bwa",
    ],
};
const DATE: Column = Column {
    name: "Posting Date",
    aliases: &[
        "postingdate",
        "pstngdate",
        "budat",
        "buchungsdatum",
        "buchdat",
    ],
};
const QUANTITY: Column = Column {
    name: "Quantity",
    aliases: &[
        "quantity",
        "qtyinunofentry",
        "qtyinunitofentry",
        "quantityinunitofentry",
        "quantityinune",
        "qtyinune",
        "menge",
        "erfmg",
    ],
};
const EXPECTED: &str =
    "an MB51 export with columns Material, Movement Type, Posting Date and Quantity";

/// Goods-issue movement types that are consumption; type + 1 reverses each.
const ISSUES: [u16; 9] = [201, 221, 231, 241, 251, 261, 281, 291, 601];

/// +1 for an issue, −1 for its reversal, `None` for any other movement.
fn direction(movement_type: &str) -> Option<f64> {
    let t: u16 = movement_type.trim().parse().ok()?;
    if ISSUES.contains(&t) {
        Some(1.0)
    } else if t > 0 && ISSUES.contains(&(t - 1)) {
        Some(-1.0)
    } else {
        None
    }
}

pub(super) fn import(
    sheet: &mut Sheet<'_>,
    bucket: Bucket,
    table: &mut DemandTable,
) -> Result<(), InputError> {
    let (cols, _) = sheet.header(&[&MATERIAL, &MOVEMENT, &DATE, &QUANTITY], &[], EXPECTED)?;
    let [material, movement, date, quantity] = cols[..] else {
        return Err(InputError::Option(
            "bug: the SAP header did not yield four columns".to_owned(),
        ));
    };
    while sheet.next_row()? {
        if sheet.is_blank() || sheet.cell(material).is_empty() {
            continue;
        }
        let Some(sign) = direction(sheet.cell(movement)) else {
            continue;
        };
        let day = sheet.date(date, DATE.name)?;
        let q = sheet.quantity(quantity, QUANTITY.name)?.abs();
        add(
            table,
            sheet.place(),
            sheet.sku(material, MATERIAL.name)?,
            day,
            bucket,
            sign * q,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::direction;

    #[test]
    fn issues_count_and_reversals_subtract() {
        assert_eq!(direction("261"), Some(1.0));
        assert_eq!(direction("262"), Some(-1.0));
        assert_eq!(direction("601"), Some(1.0));
        assert_eq!(direction("602"), Some(-1.0));
        assert_eq!(direction("101"), None);
        assert_eq!(direction("311"), None);
        assert_eq!(direction(""), None);
    }
}
