//! Why a client may not do something, in words it is shown as-is (stderr, exit 1): over a limit,
//! banned by the operator, or the ban list could not be read.

use crate::operator::{Ban, BanTarget};
use crate::utc::utc_minutes;

use super::LimitError;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    #[error(transparent)]
    Limit(#[from] LimitError),
    #[error("{}", banned_text(.0))]
    Banned(Box<Ban>),
    /// The ban list is in the store; without it nobody is let in (failing open would lift every
    /// ban whenever Redis blinks).
    #[error("share storage is unavailable, try again shortly")]
    Unavailable,
}

fn banned_text(ban: &Ban) -> String {
    let who = match &ban.target {
        BanTarget::Key(_) => "this SSH key is".to_owned(),
        BanTarget::Net(net) => format!("connections from your address ({net}) are"),
    };
    match ban.until {
        Some(until) => format!(
            "{who} banned by the operator of this service until {}",
            utc_minutes(until)
        ),
        None => format!("{who} banned by the operator of this service"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans_explain_themselves() {
        let key = Ban {
            target: BanTarget::parse("SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s").unwrap(),
            at: 0,
            until: None,
            by: "op".into(),
        };
        assert_eq!(
            Refusal::Banned(Box::new(key)).to_string(),
            "this SSH key is banned by the operator of this service"
        );
        let net = Ban {
            target: BanTarget::parse("203.0.113.0/24").unwrap(),
            at: 0,
            until: Some(0),
            by: "op".into(),
        };
        let text = Refusal::Banned(Box::new(net)).to_string();
        assert!(
            text.starts_with("connections from your address (203.0.113.0/24) are banned"),
            "{text}"
        );
        assert!(text.contains("until 1970-01-01"), "{text}");
    }
}
