//! Stable diagnostic codes of the graph stage.

use dbplan_manifest::codes::Code;

pub const DANGLING_REFERENCE: Code = Code {
    code: "G001",
    summary: "reference to a missing resource",
};
pub const CYCLE: Code = Code {
    code: "G002",
    summary: "dependency cycle",
};
pub const UNDECLARED_OUTPUT: Code = Code {
    code: "G003",
    summary: "reference to an undeclared output",
};
pub const UNSUPPORTED_KIND: Code = Code {
    code: "G004",
    summary: "reference to a kind dbplan does not manage",
};
pub const MISSING_KIND: Code = Code {
    code: "G005",
    summary: "reference without a kind",
};
pub const WRONG_KIND: Code = Code {
    code: "G006",
    summary: "reference to the wrong kind",
};

pub const TENANT_CLASH: Code = Code {
    code: "G007",
    summary: "two tenant databases manage the same object",
};

/// Every graph code, for documentation.
pub const ALL: &[Code] = &[
    DANGLING_REFERENCE,
    CYCLE,
    UNDECLARED_OUTPUT,
    UNSUPPORTED_KIND,
    MISSING_KIND,
    WRONG_KIND,
    TENANT_CLASH,
];
