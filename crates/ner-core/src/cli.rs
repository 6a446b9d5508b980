//! What every stage binary does with its result.

use std::fmt::Display;
use std::process::ExitCode;

/// Prints the summary (unless `quiet`) or the error with its whole chain of
/// causes, prefixed with the program's name, and returns the exit code:
/// 0 on success, 1 on error (clap uses 2 for usage errors).
pub fn finish<S: Display, E: std::error::Error>(
    program: &str,
    result: Result<S, E>,
    quiet: bool,
) -> ExitCode {
    match result {
        Ok(summary) => {
            if !quiet {
                println!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{program}: error: {}", chain(&err));
            ExitCode::FAILURE
        }
    }
}

/// `error: cause: cause's cause…`, as anyhow's `{:#}` prints it.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_joins_causes() {
        let err = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&err), "outer: inner");
    }
}
