use super::{ParsedDocument, SkipReason};
pub(super) fn parse_page(_b: &[u8], _s: &str) -> Result<ParsedDocument, SkipReason> { Err(SkipReason::Empty) }
