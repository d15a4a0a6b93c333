//! `stripe-fake [--port N] [--no-seed]`: serves the fake Stripe API on 127.0.0.1 (port also from
//! `STRIPE_FAKE_PORT`, default 12111). `--no-seed` starts without the seeded catalogue.

use std::process::ExitCode;

use stripe_fake::{Config, DEFAULT_PORT, serve};

const USAGE: &str =
    "usage: stripe-fake [--port N] [--no-seed]   (env STRIPE_FAKE_PORT; default 12111)";
const NO_SEED: &str = "--no-seed";

/// `--no-seed` (anywhere) and what is left for [`port`].
fn seed(args: &mut Vec<String>) -> bool {
    let before = args.len();
    args.retain(|a| a != NO_SEED);
    args.len() == before
}

fn port(args: &[String], env: Option<String>) -> Result<u16, String> {
    let parse = |s: &str| s.parse::<u16>().map_err(|_| format!("invalid port: {s}"));
    match args {
        [] => env.as_deref().map_or(Ok(DEFAULT_PORT), parse),
        [flag, value] if flag == "--port" => parse(value),
        [flag] if flag.starts_with("--port=") => parse(&flag["--port=".len()..]),
        _ => Err(USAGE.to_owned()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let seed = seed(&mut args);
    let port = match port(&args, std::env::var("STRIPE_FAKE_PORT").ok()) {
        Ok(port) => port,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match serve(Config {
        port,
        seed,
        ..Config::default()
    })
    .await
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("stripe-fake: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_from_flag_env_or_default() {
        let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(port(&args(&[]), None), Ok(DEFAULT_PORT));
        assert_eq!(port(&args(&[]), Some("9000".into())), Ok(9000));
        assert_eq!(
            port(&args(&["--port", "9001"]), Some("9000".into())),
            Ok(9001)
        );
        assert_eq!(port(&args(&["--port=9002"]), None), Ok(9002));
        assert!(port(&args(&["--port", "x"]), None).is_err());
        assert!(port(&args(&["--bogus"]), None).is_err());
        let mut with_flag = args(&["--no-seed", "--port", "9003"]);
        assert!(!seed(&mut with_flag));
        assert_eq!(port(&with_flag, None), Ok(9003));
        assert!(seed(&mut args(&["--port=1"])));
    }
}
