//! QuickBooks "Sales by Product/Service Detail" reports exported to CSV. The report opens
//! with title rows (report name, company, date range), then a header row (Date,
//! Transaction Type, Num, Customer, Memo/Description, Qty, Sales Price, Amount, Balance).
//! Lines are grouped under a heading row naming the product or service (nested for
//! categories), closed by a "Total for …" row; a grand "TOTAL" and a footer follow. A
//! customised report with a Product/Service column is read from that column instead.
//! Demand is Qty: invoices and sales receipts count, credit memos and refunds (negative
//! Qty) subtract. Rows without a Qty (services billed by amount) are skipped.

use super::sheet::{Column, Sheet, add};
use crate::optimize::input::{DemandTable, InputError, check_sku};
use crate::optimize::period::Bucket;

const DATE: Column = Column {
    name: "Date",
    aliases: &["date", "transactiondate"],
};
const QUANTITY: Column = Column {
    name: "Qty",
    aliases: &["qty", "quantity"],
};
const PRODUCT: Column = Column {
    name: "Product/Service",
    aliases: &["productservice", "productservicefullname", "item"],
};
const EXPECTED: &str = "a Sales by Product/Service Detail report with Date and Qty columns";

pub(super) fn import(
    sheet: &mut Sheet<'_>,
    bucket: Bucket,
    table: &mut DemandTable,
) -> Result<(), InputError> {
    let (cols, optional) = sheet.header(&[&DATE, &QUANTITY], &[&PRODUCT], EXPECTED)?;
    let [date, quantity] = cols[..] else {
        return Err(InputError::Option(
            "bug: the QuickBooks header did not yield two columns".to_owned(),
        ));
    };
    let product_column = optional.first().copied().flatten();
    // Open product headings, innermost last.
    let mut headings: Vec<String> = Vec::new();
    while sheet.next_row()? {
        if sheet.is_blank() {
            continue;
        }
        if sheet.cell(date).is_empty() {
            track_heading(sheet, &mut headings);
            continue;
        }
        if sheet.cell(quantity).is_empty() {
            continue;
        }
        let product = match product_column {
            Some(c) => sheet.cell(c).to_owned(),
            None => headings.last().cloned().unwrap_or_default(),
        };
        if product.is_empty() {
            return Err(InputError::BadValue {
                file: "demand",
                place: sheet.place(),
                column: PRODUCT.name.to_owned(),
                value: String::new(),
                expected: "under a product heading; export the report grouped by product/service"
                    .to_owned(),
            });
        }
        let day = sheet.date(date, DATE.name)?;
        let q = sheet.quantity(quantity, QUANTITY.name)?;
        let product = check_sku(&product, "demand", PRODUCT.name, sheet.place())?;
        add(table, sheet.place(), product, day, bucket, q)?;
    }
    Ok(())
}

/// Opens a heading on a row whose only cell names a product, and closes it on its
/// "Total for …" row; grand totals and footers change nothing.
fn track_heading(sheet: &Sheet<'_>, headings: &mut Vec<String>) {
    let mut filled = sheet.cells().filter(|c| !c.is_empty());
    let Some(first) = filled.next() else {
        return;
    };
    if let Some(name) = first.strip_prefix("Total for ") {
        if let Some(at) = headings.iter().rposition(|h| h == name.trim()) {
            headings.truncate(at);
        }
    } else if filled.next().is_none() && !first.eq_ignore_ascii_case("total") {
        headings.push(first.to_owned());
    }
}
