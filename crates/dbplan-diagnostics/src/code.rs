//! Diagnostic codes: the one way every crate declares them.
//!
//! A [`Code`] is a stable identifier (`M005`, `G001`, `P001`, `S001`, `DB402`) with its fixed
//! one-line summary. A crate declares its table with [`codes!`](crate::codes) in its own
//! `codes.rs`; a policy rule declares its code in its registry entry with [`Code::new`], next to
//! the documentation of the rule. Both are constants, so a malformed code does not compile.

use std::fmt;

/// A stable diagnostic code with its fixed one-line summary. Codes are documented and never
/// reused; a retired code stays declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Code {
    code: &'static str,
    summary: &'static str,
}

impl Code {
    /// A code: one or more upper-case ASCII letters followed by three digits (`M005`, `DB402`),
    /// and a non-empty summary. Used in constants, where a code that breaks this fails the build.
    pub const fn new(code: &'static str, summary: &'static str) -> Code {
        assert!(
            well_formed(code),
            "a code is upper-case letters, then three digits"
        );
        assert!(!summary.is_empty(), "every code has a summary");
        Code { code, summary }
    }

    /// The code as printed: `M005`.
    pub const fn as_str(self) -> &'static str {
        self.code
    }

    /// The fixed one-line summary: "unknown field".
    pub const fn summary(self) -> &'static str {
        self.summary
    }
}

/// Letters, then exactly three digits.
const fn well_formed(code: &str) -> bool {
    let bytes = code.as_bytes();
    let letters = bytes.len().saturating_sub(3);
    if letters == 0 {
        return false;
    }
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let fits = if index < letters {
            byte.is_ascii_uppercase()
        } else {
            byte.is_ascii_digit()
        };
        if !fits {
            return false;
        }
        index += 1;
    }
    true
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.code)
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.code == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.code == *other
    }
}

/// Declares a crate's diagnostic codes: one constant per code, and `ALL`, every code of the
/// table in order, for documentation and for the test that no code is declared twice.
///
/// ```
/// mod codes {
///     dbplan_diagnostics::codes! {
///         /// A key appears twice in one mapping.
///         DUPLICATE_KEY = "M002", "duplicate key";
///     }
/// }
/// assert_eq!(codes::DUPLICATE_KEY.as_str(), "M002");
/// assert_eq!(codes::ALL, &[codes::DUPLICATE_KEY]);
/// ```
#[macro_export]
macro_rules! codes {
    ($($(#[$meta:meta])* $name:ident = $code:literal, $summary:literal;)*) => {
        $(
            $(#[$meta])*
            pub const $name: $crate::Code = $crate::Code::new($code, $summary);
        )*
        /// Every code of this table, in order.
        pub const ALL: &[$crate::Code] = &[$($name,)*];
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_letters_then_three_digits() {
        for good in ["M005", "G001", "DB402", "S001"] {
            assert!(well_formed(good), "{good}");
        }
        for bad in ["", "005", "M05", "M0055", "m005", "DB40a", "M-05"] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn a_code_prints_as_itself_and_compares_with_its_text() {
        let code = Code::new("M005", "unknown field");
        assert_eq!(code.to_string(), "M005");
        assert_eq!(format!("{code:<6}|"), "M005  |");
        assert_eq!(code.summary(), "unknown field");
        assert!(code == "M005");
    }
}
