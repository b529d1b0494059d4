use super::{IngestLimits, ParsedDocument, SkipReason};
pub(super) fn parse(_b: &[u8], _s: &str, _l: &IngestLimits) -> Result<ParsedDocument, SkipReason> { Err(SkipReason::Empty) }
