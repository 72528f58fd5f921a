//! An error as one line with its causes, the form every client of dbplan reports a failure in
//! (a refused connection, a certificate the server sent, a timeout).

/// `text`, then each cause of `error` (its sources, not `error` itself) that `text` does not
/// already say, each after `: `.
pub fn with_causes(mut text: String, error: &dyn std::error::Error) -> String {
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `error` and its causes, one line.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    with_causes(error.to_string(), error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("cannot connect")
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn causes_follow_once_each() {
        let error = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        ));
        assert_eq!(error_chain(&error), "cannot connect: connection refused");
        assert_eq!(
            with_causes("cannot connect: connection refused".to_owned(), &error),
            "cannot connect: connection refused"
        );
    }
}
