//! The optional allow-list: an OpenSSH `authorized_keys` file. When configured, only keys listed
//! there may authenticate; the check runs again on the verified key in `auth_publickey`, so an
//! offer-time answer never decides who gets in. Options on a line are accepted and ignored.

use std::collections::HashSet;
use std::path::Path;

use russh::keys::PublicKey;
use russh::keys::ssh_key::AuthorizedKeys;
use russh::keys::ssh_key::public::KeyData;

use super::SshError;

#[derive(Debug, Clone)]
pub struct AllowList {
    keys: HashSet<KeyData>,
}

impl AllowList {
    pub fn load(path: &Path) -> Result<AllowList, SshError> {
        let fail = |message: String| SshError::AllowList {
            path: path.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        Self::parse(&text).map_err(fail)
    }

    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut keys = HashSet::new();
        for (index, entry) in AuthorizedKeys::new(text).enumerate() {
            let entry = entry.map_err(|e| format!("entry {}: {e}", index + 1))?;
            keys.insert(entry.public_key().key_data().clone());
        }
        Ok(AllowList { keys })
    }

    pub fn allows(&self, key: &PublicKey) -> bool {
        self.keys.contains(key.key_data())
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO7mZ8q8ZCw5mRkQe0yq7oUuYB0r3vJz5sJ8XKq9t0Bm a@x";

    #[test]
    fn listed_keys_are_allowed_and_comments_skipped() {
        let list = AllowList::parse(&format!("# operators\n\n{A}\n")).unwrap();
        assert_eq!(list.len(), 1);
        let key = PublicKey::from_openssh(A).unwrap();
        assert!(list.allows(&key));
    }

    #[test]
    fn a_broken_line_is_refused_with_its_position() {
        let err = AllowList::parse(&format!("{A}\nssh-ed25519 garbage\n")).unwrap_err();
        assert!(err.contains("entry 2"), "{err}");
    }
}
