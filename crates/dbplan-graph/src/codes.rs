//! Stable diagnostic codes of the graph stage (`G0xx`). Codes are never reused; a retired code
//! stays listed.

dbplan_diagnostics::codes! {
    DANGLING_REFERENCE = "G001", "reference to a missing resource";
    CYCLE = "G002", "dependency cycle";
    UNDECLARED_OUTPUT = "G003", "reference to an undeclared output";
    UNSUPPORTED_KIND = "G004", "reference to a kind dbplan does not manage";
    MISSING_KIND = "G005", "reference without a kind";
    WRONG_KIND = "G006", "reference to the wrong kind";
    TENANT_CLASH = "G007", "two tenant databases manage the same object";
    NOT_POSTGRES = "G008", "a tenant database on a server that does not run PostgreSQL";
}
