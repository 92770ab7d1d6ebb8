//! Oracle E-Business Suite inventory transactions, as exported from
//! MTL_MATERIAL_TRANSACTIONS (joined to the item and transaction type) or the Material
//! Transactions form: Item, TRANSACTION_DATE, TRANSACTION_TYPE_NAME and
//! TRANSACTION_QUANTITY, which is negative for issues. Consumption is every issue type
//! (Sales order issue, WIP component issue, Account issue, Miscellaneous issue, Move Order
//! Issue, …) less customer and shop-floor returns (RMA Receipt, WIP Component Return):
//! both are `−TRANSACTION_QUANTITY`. Receipts, transfers and other types are skipped.

use super::sheet::{Column, Sheet, add};
use crate::optimize::input::{DemandTable, InputError};
use crate::optimize::period::Bucket;

const ITEM: Column = Column {
    name: "ITEM",
    aliases: &[
        "item",
        "itemnumber",
        "itemcode",
        "itemname",
        "segment1",
        "inventoryitemid",
    ],
};
const DATE: Column = Column {
    name: "TRANSACTION_DATE",
    aliases: &["transactiondate"],
};
const TYPE: Column = Column {
    name: "TRANSACTION_TYPE_NAME",
    aliases: &["transactiontypename", "transactiontype"],
};
const QUANTITY: Column = Column {
    name: "TRANSACTION_QUANTITY",
    aliases: &["transactionquantity", "primaryquantity", "quantity"],
};
const EXPECTED: &str = "an inventory transactions export with columns ITEM, TRANSACTION_DATE, TRANSACTION_TYPE_NAME and TRANSACTION_QUANTITY";

/// Whether a transaction type moves demand: issues, and the returns that undo them.
fn is_demand(type_name: &str) -> bool {
    let t = type_name.trim().to_ascii_lowercase();
    t.ends_with(" issue")
        || t == "rma receipt"
        || t == "rma return"
        || t.ends_with("component return")
}

pub(super) fn import(
    sheet: &mut Sheet<'_>,
    bucket: Bucket,
    table: &mut DemandTable,
) -> Result<(), InputError> {
    let (cols, _) = sheet.header(&[&ITEM, &DATE, &TYPE, &QUANTITY], &[], EXPECTED)?;
    let [item, date, kind, quantity] = cols[..] else {
        return Err(InputError::Option(
            "bug: the Oracle header did not yield four columns".to_owned(),
        ));
    };
    while sheet.next_row()? {
        if sheet.is_blank() || sheet.cell(item).is_empty() || !is_demand(sheet.cell(kind)) {
            continue;
        }
        let day = sheet.date(date, DATE.name)?;
        let q = sheet.quantity(quantity, QUANTITY.name)?;
        add(
            table,
            sheet.place(),
            sheet.sku(item, ITEM.name)?,
            day,
            bucket,
            -q,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_demand;

    #[test]
    fn issues_and_returns_are_demand_receipts_and_transfers_are_not() {
        for t in [
            "Sales order issue",
            "WIP component issue",
            "Move Order Issue",
            "Account issue",
            "RMA Receipt",
            "WIP Component Return",
        ] {
            assert!(is_demand(t), "{t}");
        }
        for t in [
            "PO Receipt",
            "Subinventory Transfer",
            "Return to Vendor",
            "Sales Order Pick",
            "Cycle Count Adjust",
        ] {
            assert!(!is_demand(t), "{t}");
        }
    }
}
