//! Importers for ERP export files, by connector: SAP material movements (MB51),
//! Oracle inventory transactions (MTL_MATERIAL_TRANSACTIONS) and QuickBooks "Sales by
//! Product/Service Detail". Each turns dated transactions into consumption per SKU,
//! summed into [`Bucket`] periods of a [`DemandTable`]. A connector is used only when the
//! tenant's configuration enables it ([`ensure_enabled`]).
//!
//! The exports come from spreadsheets and report writers, so this module is lenient about
//! layout: the delimiter (`,`, `;` or tab) is sniffed, the header row is found among the
//! first rows, column names match case-, space- and punctuation-insensitively, dates may be
//! ISO, `DD.MM.YYYY`, `MM/DD/YYYY`, `DD-MON-YYYY` or `YYYYMMDD` (a time is ignored), and
//! quantities may carry thousands separators, a currency sign, a trailing minus (SAP) or
//! parentheses. With a `;` or tab delimiter a comma is the decimal separator.

mod oracle;
mod quickbooks;
mod sap;
mod sheet;

use super::input::{DemandTable, InputError};
use super::period::Bucket;
use serde::{Deserialize, Serialize};
use sheet::Sheet;

/// An ERP connector; names match `connectors` in framework.toml and `CONNECTORS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connector {
    /// SAP material movements (MB51).
    Sap,
    /// Oracle inventory transactions.
    Oracle,
    /// QuickBooks sales by product/service detail.
    Quickbooks,
}

impl Connector {
    /// Every connector.
    pub const ALL: [Connector; 3] = [Self::Sap, Self::Oracle, Self::Quickbooks];

    /// The configuration name: `sap`, `oracle` or `quickbooks`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sap => "sap",
            Self::Oracle => "oracle",
            Self::Quickbooks => "quickbooks",
        }
    }
}

impl std::fmt::Display for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Connector {
    type Err = InputError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                InputError::Option(format!(
                    "unknown connector `{s}`; expected sap, oracle or quickbooks"
                ))
            })
    }
}

/// Refuses a connector that `enabled` (the settings' `connectors`) does not list.
pub fn ensure_enabled(connector: Connector, enabled: &[String]) -> Result<(), InputError> {
    if enabled
        .iter()
        .any(|e| e.trim().eq_ignore_ascii_case(connector.name()))
    {
        Ok(())
    } else {
        Err(InputError::ConnectorDisabled(connector.name().to_owned()))
    }
}

/// Reads a connector export into `table`, transactions summed per `bucket`.
pub(crate) fn import(
    connector: Connector,
    text: &str,
    bucket: Bucket,
    table: &mut DemandTable,
) -> Result<(), InputError> {
    let mut sheet = Sheet::open(text);
    match connector {
        Connector::Sap => sap::import(&mut sheet, bucket, table),
        Connector::Oracle => oracle::import(&mut sheet, bucket, table),
        Connector::Quickbooks => quickbooks::import(&mut sheet, bucket, table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_connectors_match_the_configuration_names() {
        let enabled = vec!["sap".to_owned(), " QuickBooks".to_owned()];
        assert!(ensure_enabled(Connector::Sap, &enabled).is_ok());
        assert!(ensure_enabled(Connector::Quickbooks, &enabled).is_ok());
        let e = ensure_enabled(Connector::Oracle, &enabled).expect_err("disabled");
        assert!(
            e.to_string()
                .starts_with("connector `oracle` is not enabled"),
            "{e}"
        );
        assert_eq!(
            "ORACLE".parse::<Connector>().expect("name"),
            Connector::Oracle
        );
    }

    #[test]
    fn a_german_sap_export_with_semicolons_reads_the_same() {
        let text = "Material;Werk;Bewegungsart;Buchungsdatum;Menge\n\
                    M-1;1000;261;15.01.2024;1.500,000-\n\
                    M-1;1000;262;16.01.2024;0,500\n\
                    M-1;1000;101;16.01.2024;9,000\n";
        let mut table = DemandTable::new(sheet::FILE, crate::optimize::input::Limits::default());
        import(Connector::Sap, text, Bucket::Month, &mut table).expect("import");
        let (_, skus) = table
            .finish(None, &std::collections::BTreeMap::new())
            .expect("finish");
        assert_eq!(skus.len(), 1);
        assert_eq!(
            (skus[0].sku.as_str(), skus[0].first_period.as_str()),
            ("M-1", "2024-01-01")
        );
        assert_eq!(skus[0].history, [1499.5]);
    }
}
