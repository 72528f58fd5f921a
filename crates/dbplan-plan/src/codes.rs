//! Stable diagnostic codes of planning (`S0xx`, secrets read from the environment). Codes are
//! never reused; a retired code stays listed.

dbplan_diagnostics::codes! {
    SECRET_ENV_UNSET = "S001", "secret environment variable not set";
    OBJECT_REFUSED = "S002", "object its API server would refuse (CRD schema or rule)";
    RULE_NOT_EVALUATED = "S003", "CRD rule that cannot be checked offline";
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// Every table of codes a plan run can report, and every policy's: no code is declared twice.
    #[test]
    fn no_code_is_declared_twice() {
        let tables = [
            dbplan_manifest::codes::ALL,
            dbplan_graph::CODES,
            dbplan_policy::codes::ALL,
            super::ALL,
        ];
        let policies = dbplan_policy::RULES.iter().map(|rule| rule.code);
        let mut seen = BTreeSet::new();
        for code in tables.into_iter().flatten().copied().chain(policies) {
            assert!(seen.insert(code.as_str()), "{code} is declared twice");
        }
    }
}
