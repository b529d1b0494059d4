use super::{ParsedDocument, SkipReason};
pub(super) fn parse(_b: &str, _s: &str) -> Result<ParsedDocument, SkipReason> { Err(SkipReason::Empty) }
