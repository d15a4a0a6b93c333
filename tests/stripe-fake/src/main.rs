//! `stripe-fake [--port N] [--seed-catalogue PATH | --no-seed]`: serves the fake Stripe API on
//! 127.0.0.1 (port also from `STRIPE_FAKE_PORT`, default 12111). `--seed-catalogue` names the JSON
//! file of products and prices to start with (README, "Seed catalogue"); without it, or with
//! `--no-seed`, the fake starts with none.

use std::path::Path;
use std::process::ExitCode;

use stripe_fake::{Catalogue, Config, DEFAULT_PORT, serve};

const USAGE: &str = "usage: stripe-fake [--port N] [--seed-catalogue PATH | --no-seed]   \
    (env STRIPE_FAKE_PORT; default port 12111, no catalogue)";
const NO_SEED: &str = "--no-seed";
const SEED_CATALOGUE: &str = "--seed-catalogue";

/// Takes `--no-seed` and `--seed-catalogue PATH` (or `=PATH`) out of `args`, leaving the rest for
/// [`port`]; returns the catalogue file to load, if any.
fn seed_catalogue(args: &mut Vec<String>) -> Result<Option<String>, String> {
    let before = args.len();
    args.retain(|a| a != NO_SEED);
    let no_seed = args.len() != before;
    let mut path = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut given = std::mem::take(args).into_iter();
    while let Some(arg) = given.next() {
        let value = if arg == SEED_CATALOGUE {
            Some(given.next().ok_or_else(|| USAGE.to_owned())?)
        } else {
            arg.strip_prefix("--seed-catalogue=").map(str::to_owned)
        };
        match value {
            Some(value) if path.is_none() => path = Some(value),
            Some(_) => return Err(USAGE.to_owned()),
            None => rest.push(arg),
        }
    }
    *args = rest;
    if no_seed && path.is_some() {
        return Err(format!(
            "{NO_SEED} and {SEED_CATALOGUE} exclude each other\n{USAGE}"
        ));
    }
    Ok(path)
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
    let parsed = seed_catalogue(&mut args)
        .and_then(|path| Ok((path, port(&args, std::env::var("STRIPE_FAKE_PORT").ok())?)));
    let (path, port) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let seed = match path.as_deref().map(|p| Catalogue::load(Path::new(p))) {
        None => Catalogue::default(),
        Some(Ok(catalogue)) => catalogue,
        Some(Err(err)) => {
            eprintln!("stripe-fake: seed catalogue: {err}");
            return ExitCode::FAILURE;
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

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn port_from_flag_env_or_default() {
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
        assert_eq!(seed_catalogue(&mut with_flag), Ok(None));
        assert_eq!(port(&with_flag, None), Ok(9003));
        let mut without = args(&["--port=1"]);
        assert_eq!(seed_catalogue(&mut without), Ok(None));
        assert_eq!(without, args(&["--port=1"]));
    }

    #[test]
    fn seed_catalogue_flag_in_either_form_and_not_with_no_seed() {
        let mut spaced = args(&["--port", "9004", "--seed-catalogue", "a.json"]);
        assert_eq!(seed_catalogue(&mut spaced), Ok(Some("a.json".into())));
        assert_eq!(port(&spaced, None), Ok(9004));
        let mut joined = args(&["--seed-catalogue=b.json"]);
        assert_eq!(seed_catalogue(&mut joined), Ok(Some("b.json".into())));
        assert!(joined.is_empty());
        assert!(seed_catalogue(&mut args(&["--seed-catalogue"])).is_err());
        assert!(seed_catalogue(&mut args(&["--seed-catalogue=a", "--seed-catalogue=b"])).is_err());
        assert!(seed_catalogue(&mut args(&["--no-seed", "--seed-catalogue=a"])).is_err());
    }
}
