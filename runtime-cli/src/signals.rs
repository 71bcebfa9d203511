//! Signal names and numbers as `kill` accepts them (`KILL`, `SIGKILL`, `kill`, `9`), and 0:
//! no signal, only the kernel's check that the process exists (kill(2)).

use nix::sys::signal::Signal;
use std::str::FromStr;

pub fn parse(s: &str) -> Option<i32> {
    if let Ok(n) = s.parse::<i32>() {
        return (0..=64).contains(&n).then_some(n);
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).ok().map(|sig| sig as i32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_numbers() {
        assert_eq!(super::parse("KILL"), Some(9));
        assert_eq!(super::parse("sigterm"), Some(15));
        assert_eq!(super::parse("10"), Some(10));
        assert_eq!(super::parse("NOPE"), None);
        assert_eq!(super::parse("0"), Some(0));
        assert_eq!(super::parse("65"), None);
    }
}
