//! `type = "xlsx"`: registration records in Excel workbooks (one sheet per source).

use super::{SourceData, SourceDriver, SourceError};
use crate::compile::SourcePlan;

pub struct XlsxDriver;

impl SourceDriver for XlsxDriver {
    fn kind(&self) -> &'static str {
        "xlsx"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["xlsx", "xlsm", "xls"]
    }
    fn read(&self, src: &SourcePlan) -> Result<SourceData, SourceError> {
        let t = cadastra_tables::read_xlsx(&src.path, src.sheet.as_deref())
            .map_err(|e| SourceError::new(src, e))?;
        let mut d = super::delimited::from_records(t, false);
        if let Some(e) = &mut d.encoding {
            e.decided_by = "container".into();
            e.confident = true;
        }
        Ok(d)
    }
    fn fields(&self, src: &SourcePlan) -> Result<Vec<String>, SourceError> {
        Ok(self.read(src)?.table.fields)
    }
}
