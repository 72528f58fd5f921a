//! How long dbplan waits for AWS, so that an endpoint that accepts the connection and never
//! answers fails the resource instead of holding the apply (and the state lock) forever.
//!
//! | variable | default | bounds |
//! | --- | --- | --- |
//! | `DBPLAN_CONNECT_TIMEOUT` | 10 s | the connection (TCP and TLS) of one attempt |
//! | `DBPLAN_READ_TIMEOUT` | 60 s | waiting for the answer of one attempt |
//!
//! One attempt is bounded by both together (the SDK's operation attempt timeout), so an answer
//! that trickles in is bounded too. The SDK retries a timed-out attempt (standard retry mode:
//! 3 attempts unless `AWS_MAX_ATTEMPTS` says otherwise, with jittered backoff of at most 1 s,
//! then 2 s), so one request takes at most 3 × (10 s + 60 s) + 3 s ≈ 3.6 minutes with the
//! defaults. Values are seconds, decimals allowed (`0.5`), above 0 and at most 86400; anything
//! else is an error naming the variable, never a silent fallback to the default (read by
//! [`dbplan_provider::timeouts`], like every provider's).
//!
//! When a request times out, the SDK's error is replaced by one that says which step ran out,
//! at which `host:port`, after how many attempts, and which variable to raise
//! ([`ExplainTimeouts`]).

use aws_sdk_rds::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut,
};
use aws_sdk_rds::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_rds::error::{BoxError, ConnectorError};
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use dbplan_provider::timeouts::{
    CONNECT_VARIABLE, DEFAULT_CONNECT, DEFAULT_READ, READ_VARIABLE, seconds,
};
use std::sync::Mutex;
use std::time::Duration;

/// The bounds of the provider's requests, read once from the environment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) read: Duration,
}

impl Timeouts {
    /// The bounds the process environment sets, or an error naming a variable with a bad value.
    pub(crate) fn from_env() -> Result<Timeouts, String> {
        Timeouts::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Timeouts, String> {
        Ok(Timeouts {
            connect: seconds(&lookup, CONNECT_VARIABLE, DEFAULT_CONNECT)?,
            read: seconds(&lookup, READ_VARIABLE, DEFAULT_READ)?,
        })
    }

    /// The SDK's timeouts: the connection, the wait for the answer, and one whole attempt.
    pub(crate) fn config(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            .operation_attempt_timeout(self.connect + self.read)
            .build()
    }
}

fn shown(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

/// Replaces the SDK's error for a request that timed out with one that says what to do. One
/// per service client, since it remembers the client's endpoint.
#[derive(Debug)]
pub(crate) struct ExplainTimeouts {
    timeouts: Timeouts,
    /// `host:port` of the last request sent: the same for every request of a client (one
    /// service in one region), and gone from the context by the time an error is final.
    target: Mutex<Option<String>>,
}

/// The explanation, as the cause of the SDK's timeout error.
#[derive(Debug)]
struct Explanation(String);

impl std::fmt::Display for Explanation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Explanation {}

impl Intercept for ExplainTimeouts {
    fn name(&self) -> &'static str {
        "dbplan::ExplainTimeouts"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.last_target() = Some(target(context.request().uri()));
        Ok(())
    }

    fn modify_before_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // No target: the request failed before it was sent.
        let target = self
            .last_target()
            .clone()
            .unwrap_or_else(|| "the AWS endpoint".to_owned());
        let attempts = cfg
            .load::<RequestAttempts>()
            .map(RequestAttempts::attempts)
            .unwrap_or(1);
        let Some(slot) = context.output_or_error_mut() else {
            return Ok(());
        };
        let Err(error) = slot else {
            return Ok(());
        };
        let connector_timeout = error
            .as_connector_error()
            .is_some_and(ConnectorError::is_timeout);
        if !(connector_timeout || error.is_timeout_error()) {
            return Ok(());
        }
        let cause = timeout_cause(&*error);
        let explanation = Explanation(self.explain(&target, &cause, attempts));
        *slot = Err(if connector_timeout {
            OrchestratorError::connector(ConnectorError::timeout(Box::new(explanation)))
        } else {
            OrchestratorError::timeout(Box::new(explanation))
        });
        Ok(())
    }
}

impl ExplainTimeouts {
    pub(crate) fn new(timeouts: Timeouts) -> ExplainTimeouts {
        ExplainTimeouts {
            timeouts,
            target: Mutex::new(None),
        }
    }

    /// The target of the last request sent.
    #[expect(
        clippy::expect_used,
        reason = "the lock is only held to assign or clone an Option<String>, which cannot panic, so it is never poisoned"
    )]
    fn last_target(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.target
            .lock()
            .expect("nothing panics while holding the lock, so it is never poisoned")
    }

    /// What ran out, where, and what to do. The step comes from the SDK's own words for it
    /// (`HTTP connect timeout occurred after 10s`, `HTTP read timeout …`, `operation attempt
    /// timeout …`), which the SDK's error types do not expose otherwise.
    fn explain(&self, target: &str, cause: &str, attempts: u32) -> String {
        let Timeouts { connect, read } = self.timeouts;
        let tries = if attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("each of {attempts} attempts")
        };
        let advice = "check the region and AWS_ENDPOINT_URL, and that no firewall or proxy stops dbplan's requests";
        if cause.contains("connect timeout") {
            format!(
                "no connection to {target} within {} ({CONNECT_VARIABLE}), {tries}; {advice}, or raise {CONNECT_VARIABLE} ({cause})",
                shown(connect)
            )
        } else if cause.contains("read timeout") {
            format!(
                "{target} accepted the connection but did not answer within {} ({READ_VARIABLE}), {tries}; {advice}, or raise {READ_VARIABLE} ({cause})",
                shown(read)
            )
        } else {
            format!(
                "{target} did not complete an answer within {} ({CONNECT_VARIABLE} + {READ_VARIABLE}), {tries}; {advice}, or raise {READ_VARIABLE} ({cause})",
                shown(connect + read)
            )
        }
    }
}

/// The cause in which the SDK names what timed out (`HTTP read timeout occurred after 60s`),
/// else the innermost one.
fn timeout_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    loop {
        let text = cause.to_string();
        if text.contains("timeout occurred") {
            return text;
        }
        match cause.source() {
            Some(source) => cause = source,
            None => return text,
        }
    }
}

/// `host:port` of a request's URI (the scheme's port when it names none).
fn target(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("https", uri));
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    // Credentials in a URI (`user:secret@host`) never reach a message.
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, port)| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']');
    if has_port {
        authority.to_owned()
    } else if scheme == "http" {
        format!("{authority}:80")
    } else {
        format!("{authority}:443")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn defaults_apply_and_variables_override_them() {
        assert_eq!(
            Timeouts::from_lookup(lookup(&[])),
            Ok(Timeouts {
                connect: Duration::from_secs(10),
                read: Duration::from_secs(60)
            })
        );
        assert_eq!(
            Timeouts::from_lookup(lookup(&[
                ("DBPLAN_CONNECT_TIMEOUT", "0.25"),
                ("DBPLAN_READ_TIMEOUT", "120")
            ])),
            Ok(Timeouts {
                connect: Duration::from_millis(250),
                read: Duration::from_secs(120)
            })
        );
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        // The parsing is dbplan_provider::timeouts's (tested there); a bad value stops here.
        let error = Timeouts::from_lookup(lookup(&[("DBPLAN_CONNECT_TIMEOUT", "soon")])).err();
        assert!(
            error.as_deref().is_some_and(
                |error| error.starts_with("DBPLAN_CONNECT_TIMEOUT=\"soon\" is not a number")
            ),
            "{error:?}"
        );
    }

    #[test]
    fn targets_have_a_port_and_no_credentials() {
        assert_eq!(
            target("https://rds.eu-west-1.amazonaws.com/"),
            "rds.eu-west-1.amazonaws.com:443"
        );
        assert_eq!(target("http://127.0.0.1:5000/?Action=x"), "127.0.0.1:5000");
        assert_eq!(
            target("http://user:secret@proxy.internal/"),
            "proxy.internal:80"
        );
        assert_eq!(target("https://[::1]/"), "[::1]:443");
        assert_eq!(target("https://[::1]:8443/"), "[::1]:8443");
    }

    #[test]
    fn explanations_name_the_step_the_target_and_the_variable() {
        let explain = ExplainTimeouts::new(Timeouts {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(60),
        });
        let text = explain.explain(
            "ec2.us-east-1.amazonaws.com:443",
            "HTTP connect timeout occurred after 10s",
            3,
        );
        assert!(text.starts_with("no connection to ec2.us-east-1.amazonaws.com:443 within 10 s (DBPLAN_CONNECT_TIMEOUT), each of 3 attempts;"), "{text}");
        assert!(text.contains("raise DBPLAN_CONNECT_TIMEOUT"), "{text}");
        let text = explain.explain("127.0.0.1:5000", "HTTP read timeout occurred after 60s", 1);
        assert!(text.starts_with("127.0.0.1:5000 accepted the connection but did not answer within 60 s (DBPLAN_READ_TIMEOUT), 1 attempt;"), "{text}");
        let text = explain.explain(
            "127.0.0.1:5000",
            "operation attempt timeout occurred after 70s",
            2,
        );
        assert!(
            text.contains("within 70 s (DBPLAN_CONNECT_TIMEOUT + DBPLAN_READ_TIMEOUT)"),
            "{text}"
        );
    }
}
