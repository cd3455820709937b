//! Who is an operator: the keys named in `--admin-keys FILE`, one per line, either as an
//! `authorized_keys` entry (options allowed) or as the `SHA256:…` fingerprint `ssh-keygen -lf`
//! prints. Matching is by fingerprint of the key whose signature the SSH layer verified.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use russh::keys::HashAlg;
use russh::keys::ssh_key::AuthorizedKeys;

use super::BanTarget;

#[derive(Debug, thiserror::Error)]
#[error("admin keys file {path}: {message}")]
pub struct AdminsError {
    pub path: PathBuf,
    pub message: String,
}

/// The operators' key fingerprints. Empty means: nobody is an operator.
#[derive(Clone, Debug, Default)]
pub struct Admins {
    fingerprints: HashSet<String>,
}

impl Admins {
    pub fn load(path: &Path) -> Result<Admins, AdminsError> {
        let fail = |message: String| AdminsError {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let admins = Self::parse(&text).map_err(fail)?;
        if admins.fingerprints.is_empty() {
            return Err(fail("names no key".into()));
        }
        Ok(admins)
    }

    pub fn parse(text: &str) -> Result<Admins, String> {
        let mut fingerprints = HashSet::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let position = || format!("line {}", index + 1);
            if line.starts_with("SHA256:") {
                let word = line.split_whitespace().next().unwrap_or_default();
                match BanTarget::parse(word) {
                    Ok(BanTarget::Key(fingerprint)) => fingerprints.insert(fingerprint),
                    _ => return Err(format!("{}: not a SHA256 fingerprint", position())),
                };
                continue;
            }
            let entry = AuthorizedKeys::new(line)
                .next()
                .ok_or_else(position)?
                .map_err(|e| format!("{}: {e}", position()))?;
            fingerprints.insert(
                entry
                    .public_key()
                    .key_data()
                    .fingerprint(HashAlg::Sha256)
                    .to_string(),
            );
        }
        Ok(Admins { fingerprints })
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII5qxapD0dqXm/SOyLCPFVtRNYvMrwzNQbuSY3uXIRsx alice@laptop";
    const KEY_FP: &str = "SHA256:MD5JYCvW2qQfEUlFjJF56OGSkj90bQaJC5oIuFLYpW4";
    const OTHER_FP: &str = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s";

    #[test]
    fn keys_and_fingerprints_both_name_operators() {
        let admins = Admins::parse(&format!(
            "# operators\n\nrestrict {KEY}\n{OTHER_FP} bob (from ssh-keygen -lf)\n"
        ))
        .unwrap();
        assert_eq!(admins.len(), 2);
        assert!(admins.contains(KEY_FP));
        assert!(admins.contains(OTHER_FP));
        assert!(!admins.contains("SHA256:nobody"));
    }

    #[test]
    fn a_broken_line_is_refused_with_its_position() {
        let err = Admins::parse(&format!("{KEY}\nssh-ed25519 garbage\n")).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
        let err = Admins::parse("SHA256:tooshort\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }
}
