//! Stable diagnostic codes of policy packs (`P0xx`). The policies' own codes (`DBxxx`) are
//! declared in their registry entries (`rules/`), next to their documentation. Codes are never
//! reused; a retired code stays listed.

dbplan_diagnostics::codes! {
    INVALID_PACK = "P001", "invalid policy pack";
}
